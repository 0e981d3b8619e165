using System.Data;
using static EFCore.Dsql.FunctionalTests.Local.DsqlLocalTransactionTests;

namespace EFCore.Dsql.FunctionalTests.Local;

[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlLocalConcurrencyTests(DsqlLocalFixture fixture)
{
    [Fact]
    public async Task Concurrent_writers_of_one_row_never_wait_and_exactly_one_commits()
    {
        await fixture.ExecuteOnBackendAsync("DROP TABLE IF EXISTS occ_counter; CREATE TABLE occ_counter (id int PRIMARY KEY, n int); INSERT INTO occ_counter VALUES (1, 0)");
        const int writers = 4;
        var connections = new List<NpgsqlConnection>();
        var transactions = new List<NpgsqlTransaction>();
        try
        {
            for (var i = 0; i < writers; i++)
            {
                var connection = await fixture.OpenConnectionAsync();
                connections.Add(connection);
                transactions.Add(await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead));
            }

            // Every writer's UPDATE succeeds (none waits on another's row lock), as on DSQL.
            var updated = await Task.WhenAll(connections.Select(c => Execute(c, "UPDATE occ_counter SET n = n + 1 WHERE id = 1")));
            Assert.All(updated, rows => Assert.Equal(1, rows));

            var outcomes = new List<string>();
            foreach (var transaction in transactions)
            {
                try
                {
                    await transaction.CommitAsync();
                    outcomes.Add("committed");
                }
                catch (PostgresException e)
                {
                    outcomes.Add($"{e.SqlState} {e.MessageText}");
                }
            }

            Assert.Equal(1, outcomes.Count(o => o == "committed"));
            Assert.Equal(writers - 1, outcomes.Count(o => o == "40001 change conflicts with another transaction (OC000)"));
            Assert.Equal(1, await Scalar(connections[0], "SELECT n FROM occ_counter WHERE id = 1"));
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Writers_of_different_rows_all_commit()
    {
        await fixture.ExecuteOnBackendAsync("DROP TABLE IF EXISTS occ_disjoint; CREATE TABLE occ_disjoint (id int PRIMARY KEY, n int); INSERT INTO occ_disjoint SELECT g, 0 FROM generate_series(1, 3) g");
        await Task.WhenAll(Enumerable.Range(1, 3).Select(async id =>
        {
            await using var connection = await fixture.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead);
            await Execute(connection, $"UPDATE occ_disjoint SET n = n + 1 WHERE id = {id}");
            await transaction.CommitAsync();
        }));
        await using var check = await fixture.OpenConnectionAsync();
        Assert.Equal(3L, await Scalar(check, "SELECT sum(n) FROM occ_disjoint"));
    }

    [Fact]
    public async Task Losing_select_for_update_still_returns_its_rows_and_fails_at_commit()
    {
        await fixture.ExecuteOnBackendAsync("DROP TABLE IF EXISTS occ_locking; CREATE TABLE occ_locking (id int PRIMARY KEY, v text); INSERT INTO occ_locking VALUES (1, 'one')");
        await using var writer = await fixture.OpenConnectionAsync();
        await using var reader = await fixture.OpenConnectionAsync();
        await using var writerTransaction = await writer.BeginTransactionAsync(IsolationLevel.RepeatableRead);
        await Execute(writer, "UPDATE occ_locking SET v = 'uno' WHERE id = 1");
        await using var readerTransaction = await reader.BeginTransactionAsync(IsolationLevel.RepeatableRead);
        await using (var command = new NpgsqlCommand("SELECT v FROM occ_locking WHERE id = $1 FOR UPDATE", reader) { Parameters = { new() { Value = 1 } } })
        {
            Assert.Equal("one", await command.ExecuteScalarAsync());
        }

        await writerTransaction.CommitAsync();
        var error = await Assert.ThrowsAsync<PostgresException>(() => readerTransaction.CommitAsync());
        Assert.Equal("40001", error.SqlState);
    }

    [Fact]
    public async Task Injected_conflict_fails_the_next_commit_so_retry_logic_can_be_tested()
    {
        await fixture.ExecuteOnBackendAsync("DROP TABLE IF EXISTS occ_retry; CREATE TABLE occ_retry (id int PRIMARY KEY, n int); INSERT INTO occ_retry VALUES (1, 0)");
        await using var dataSource = fixture.CreateDataSource(configure: b => b.ConnectionStringBuilder.ApplicationName = "occ-retry-test");
        fixture.Server.InjectConflicts(1, "occ-retry-test");
        var attempts = 0;
        while (true)
        {
            attempts++;
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead);
            await Execute(connection, "UPDATE occ_retry SET n = n + 1 WHERE id = 1");
            try
            {
                await transaction.CommitAsync();
                break;
            }
            catch (PostgresException e) when (e.SqlState == "40001" && attempts < 5)
            {
                Assert.Contains("(OC000)", e.MessageText, StringComparison.Ordinal);
            }
        }

        Assert.Equal(2, attempts);
        await using var check = await fixture.OpenConnectionAsync();
        Assert.Equal(1, await Scalar(check, "SELECT n FROM occ_retry WHERE id = 1"));
    }

    [Fact]
    public async Task Sql_injected_conflict_fails_the_sessions_next_autocommit_write()
    {
        await fixture.ExecuteOnBackendAsync("DROP TABLE IF EXISTS occ_inject_sql; CREATE TABLE occ_inject_sql (id int PRIMARY KEY)");
        await using var connection = await fixture.OpenConnectionAsync();
        await Scalar(connection, "SELECT dsql_local.inject_conflict()");
        var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "INSERT INTO occ_inject_sql VALUES (1)"));
        Assert.Equal("40001", error.SqlState);
        Assert.Equal(0L, await Scalar(connection, "SELECT count(*) FROM occ_inject_sql"));
        Assert.Equal(1, await Execute(connection, "INSERT INTO occ_inject_sql VALUES (1)"));
    }

    [Fact]
    public async Task Schema_change_under_an_open_transaction_fails_its_commit_with_OC001()
    {
        await fixture.ExecuteOnBackendAsync("DROP TABLE IF EXISTS occ_schema; CREATE TABLE occ_schema (id int PRIMARY KEY, v text); INSERT INTO occ_schema VALUES (1, 'a')");
        await using var writer = await fixture.OpenConnectionAsync();
        await using var transaction = await writer.BeginTransactionAsync(IsolationLevel.RepeatableRead);
        await Scalar(writer, "SELECT 1");
        await using (var ddl = await fixture.OpenConnectionAsync())
        {
            await Execute(ddl, "ALTER TABLE occ_schema ADD COLUMN note text");
        }

        await Execute(writer, "UPDATE occ_schema SET v = 'b' WHERE id = 1");
        var error = await Assert.ThrowsAsync<PostgresException>(() => transaction.CommitAsync());
        Assert.Equal("40001", error.SqlState);
        Assert.Contains("(OC001)", error.MessageText, StringComparison.Ordinal);
    }
}
