using System.Data;

namespace EFCore.Dsql.FunctionalTests.Local;

[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlLocalTransactionTests(DsqlLocalFixture fixture)
{
    [Fact]
    public async Task Repeatable_read_transactions_commit_through_npgsql()
    {
        await CreateTableAsync("tx_commit");
        await using var connection = await fixture.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead))
        {
            await Execute(connection, "INSERT INTO tx_commit (id, v) VALUES (1, 'a')");
            await transaction.CommitAsync();
        }

        Assert.Equal(1L, await Scalar(connection, "SELECT count(*) FROM tx_commit"));
    }

    [Fact]
    public async Task Read_committed_transaction_is_refused_as_dsql_does()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var error = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted);
            await Scalar(connection, "SELECT 1");
        });
        Assert.Equal("0A000", error.SqlState);
        Assert.Equal("Unsupported isolation level: READ COMMITTED", error.MessageText);
    }

    [Fact]
    public async Task Npgsql_BeginTransaction_without_a_level_is_refused_because_it_asks_for_read_committed()
    {
        // Npgsql sends BEGIN TRANSACTION ISOLATION LEVEL READ COMMITTED by default, which DSQL refuses: providers must
        // begin with IsolationLevel.RepeatableRead (or plain BEGIN).
        await using var connection = await fixture.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var error = await Assert.ThrowsAsync<PostgresException>(() => Scalar(connection, "SELECT 1"));
        Assert.Equal("Unsupported isolation level: READ COMMITTED", error.MessageText);
    }

    [Fact]
    public async Task Transactions_run_at_repeatable_read_even_when_begun_without_a_level()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await Execute(connection, "BEGIN");
        Assert.Equal("repeatable read", await Scalar(connection, "SHOW transaction_isolation"));
        await Execute(connection, "ROLLBACK");
    }

    [Fact]
    public async Task Ddl_and_dml_in_one_transaction_are_refused_and_the_transaction_is_aborted()
    {
        await CreateTableAsync("tx_mix");
        await using var connection = await fixture.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead);
        await Execute(connection, "INSERT INTO tx_mix (id, v) VALUES (1, 'a')");
        var refused = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "CREATE TABLE tx_mix_other (id int)"));
        Assert.Equal("ddl and dml are not supported in the same transaction", refused.MessageText);
        var aborted = await Assert.ThrowsAsync<PostgresException>(() => Scalar(connection, "SELECT 1"));
        Assert.Equal("25P02", aborted.SqlState);
        await transaction.RollbackAsync();
        Assert.Equal(1, await Scalar(connection, "SELECT 1"));
    }

    [Fact]
    public async Task Statement_crossing_the_row_limit_fails_with_54000_and_writes_nothing()
    {
        await CreateTableAsync("tx_rows");
        await using var connection = await fixture.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("INSERT INTO tx_rows (id, v) SELECT g, 'x' FROM generate_series(1, $1) g", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = 3001 });
        var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
        Assert.Equal("54000", error.SqlState);
        Assert.Equal("transaction row limit exceeded", error.MessageText);
        Assert.Equal(0L, await Scalar(connection, "SELECT count(*) FROM tx_rows"));

        command.Parameters[0].Value = 3000;
        Assert.Equal(3000, await command.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task Row_limit_counts_every_statement_of_a_transaction()
    {
        await CreateTableAsync("tx_rows_sum");
        await using var connection = await fixture.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead);
        await Execute(connection, "INSERT INTO tx_rows_sum (id, v) SELECT g, 'x' FROM generate_series(1, 2000) g");
        var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "UPDATE tx_rows_sum SET v = 'y' WHERE id <= 1001"));
        Assert.Equal("54000", error.SqlState);
    }

    private async Task CreateTableAsync(string name)
        => await fixture.ExecuteOnBackendAsync($"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} (id int PRIMARY KEY, v text)");

    internal static async Task<int> Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync();
    }

    internal static async Task<object?> Scalar(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
