using System.Data;
using static EFCore.Dsql.FunctionalTests.Local.DsqlLocalTransactionTests;

namespace EFCore.Dsql.FunctionalTests.Local;

/// <summary>DSQL's transaction age limit, shortened to one second so the tests stay fast.</summary>
public sealed class DsqlLocalTransactionAgeTests(DsqlLocalTransactionAgeTests.ShortAgeServer server) : IClassFixture<DsqlLocalTransactionAgeTests.ShortAgeServer>
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(1);
    private readonly NpgsqlDataSource _dataSource = server.DataSource;

    /// <summary>One emulator with a one-second transaction age limit for the whole class.</summary>
    public sealed class ShortAgeServer : IAsyncLifetime
    {
        private DsqlLocalServer? _server;
        private NpgsqlDataSource? _dataSource;

        public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("The emulator has not started.");

        public async Task InitializeAsync()
        {
            _server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { MaxTransactionAge = Limit });
            _dataSource = _server.CreateDataSource();
            await using var backend = new NpgsqlConnection(_server.BackendConnectionString);
            await backend.OpenAsync();
            await Execute(backend, "SET ROLE admin; CREATE TABLE aged (id int PRIMARY KEY, v text)");
        }

        public async Task DisposeAsync()
        {
            if (_dataSource is not null)
            {
                await _dataSource.DisposeAsync();
            }

            if (_server is not null)
            {
                await _server.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Statement_in_a_transaction_older_than_the_limit_fails_with_54000_and_the_session_recovers_after_rollback()
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead))
        {
            await Execute(connection, "INSERT INTO aged (id, v) VALUES (1, 'a')");
            await Task.Delay(Limit * 1.5);
            var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "INSERT INTO aged (id, v) VALUES (2, 'b')"));
            Assert.Equal(("54000", "transaction age limit of 1s exceeded"), (error.SqlState, error.MessageText));
            var aborted = await Assert.ThrowsAsync<PostgresException>(() => Scalar(connection, "SELECT 1"));
            Assert.Equal("25P02", aborted.SqlState);
            await transaction.RollbackAsync();
        }

        Assert.Equal(0L, await Scalar(connection, "SELECT count(*) FROM aged"));
        await using (var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead))
        {
            await Execute(connection, "INSERT INTO aged (id, v) VALUES (3, 'c')");
            await transaction.CommitAsync();
        }

        Assert.Equal(1L, await Scalar(connection, "SELECT count(*) FROM aged WHERE id = 3"));
    }

    [Fact]
    public async Task Commit_of_a_transaction_older_than_the_limit_fails_with_54000_and_commits_nothing()
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await Execute(connection, "BEGIN");
        await Execute(connection, "INSERT INTO aged (id, v) VALUES (10, 'a')");
        await Task.Delay(Limit * 1.5);
        var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "COMMIT"));
        Assert.Equal(("54000", "transaction age limit of 1s exceeded"), (error.SqlState, error.MessageText));
        Assert.Equal(0L, await Scalar(connection, "SELECT count(*) FROM aged WHERE id = 10"));
    }

    [Fact]
    public async Task Autocommit_statements_are_not_aged_by_the_idle_time_between_them()
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await Execute(connection, "INSERT INTO aged (id, v) VALUES (20, 'a')");
        await Task.Delay(Limit * 1.5);
        Assert.Equal(1, await Execute(connection, "UPDATE aged SET v = 'b' WHERE id = 20"));
    }

    [Fact]
    public async Task Statement_running_longer_than_the_limit_fails_with_54000_and_the_session_stays_usable()
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        var error = await Assert.ThrowsAsync<PostgresException>(() => Scalar(connection, "SELECT pg_sleep(3)"));
        Assert.Equal(("54000", "transaction age limit of 1s exceeded"), (error.SqlState, error.MessageText));
        Assert.Equal(1, await Scalar(connection, "SELECT 1"));
    }
}
