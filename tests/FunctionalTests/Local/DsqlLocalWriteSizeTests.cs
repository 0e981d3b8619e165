using System.Data;
using static EFCore.Dsql.FunctionalTests.Local.DsqlLocalTransactionTests;

namespace EFCore.Dsql.FunctionalTests.Local;

/// <summary>DSQL's 10 MiB per-transaction write limit (rows of one million bytes each, so 10 rows fit and 11 do not).</summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlLocalWriteSizeTests(DsqlLocalFixture fixture)
{
    private const string InsertMegabyteRows = "INSERT INTO {0} (id, v) SELECT g, repeat(md5(g::text), 31250) FROM generate_series($1, $2) g";

    [Fact]
    public async Task Statement_that_takes_a_transaction_past_10_MiB_fails_with_54000_and_nothing_is_committed()
    {
        await CreateTableAsync("size_tx");
        await using var connection = await fixture.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead))
        {
            Assert.Equal(6, await InsertRowsAsync(connection, "size_tx", 1, 6));
            var error = await Assert.ThrowsAsync<PostgresException>(() => InsertRowsAsync(connection, "size_tx", 7, 12));
            Assert.Equal(("54000", "transaction size limit 10mb exceeded"), (error.SqlState, error.MessageText));
            Assert.Null(error.Where);
            var aborted = await Assert.ThrowsAsync<PostgresException>(() => Scalar(connection, "SELECT 1"));
            Assert.Equal("25P02", aborted.SqlState);
            await transaction.RollbackAsync();
        }

        Assert.Equal(0L, await Scalar(connection, "SELECT count(*) FROM size_tx"));
    }

    [Fact]
    public async Task Autocommit_statement_writing_more_than_10_MiB_fails_and_writes_nothing()
    {
        await CreateTableAsync("size_auto");
        await using var connection = await fixture.OpenConnectionAsync();
        var error = await Assert.ThrowsAsync<PostgresException>(() => InsertRowsAsync(connection, "size_auto", 1, 11));
        Assert.Equal(("54000", "transaction size limit 10mb exceeded"), (error.SqlState, error.MessageText));
        Assert.Equal(0L, await Scalar(connection, "SELECT count(*) FROM size_auto"));
    }

    [Fact]
    public async Task Transaction_writing_about_9_MiB_commits_and_each_transaction_starts_from_zero()
    {
        await CreateTableAsync("size_ok");
        await using var connection = await fixture.OpenConnectionAsync();
        await using (var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead))
        {
            Assert.Equal(5, await InsertRowsAsync(connection, "size_ok", 1, 5));
            Assert.Equal(4, await InsertRowsAsync(connection, "size_ok", 6, 9));
            // Nine rows of 1,000,000 characters: counted uncompressed, plus small per-row overhead.
            var written = long.Parse((string)(await Scalar(connection, "SELECT current_setting('dsql_local.written_bytes', true)"))!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(written, 9_000_000, 9_001_000);
            await transaction.CommitAsync();
        }

        // Each autocommit statement is its own transaction: 9 + 9 rows in two statements are fine.
        Assert.Equal(9, await Execute(connection, "UPDATE size_ok SET v = v || 'x'"));
        Assert.Equal(9, await Execute(connection, "UPDATE size_ok SET v = v || 'y'"));
        Assert.Equal(9L, await Scalar(connection, "SELECT count(*) FROM size_ok WHERE v LIKE '%xy'"));
    }

    [Fact]
    public async Task Updates_and_parameters_count_toward_the_limit()
    {
        await CreateTableAsync("size_upd");
        await using var connection = await fixture.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead);
        // Six rows from one parameter of 1,000,000 characters (a column stays under DSQL's 1 MiB): about 6 MB written.
        await using (var insert = new NpgsqlCommand("INSERT INTO size_upd (id, v) SELECT g, $1 FROM generate_series(1, 6) g", connection))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = new string('a', 1_000_000) });
            Assert.Equal(6, await insert.ExecuteNonQueryAsync());
        }

        // Rewriting them writes another 6 MB: past 10 MiB.

        var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "UPDATE size_upd SET v = v || 'b'"));
        Assert.Equal("54000", error.SqlState);
    }

    private async Task CreateTableAsync(string name)
        => await fixture.ExecuteOnBackendAsync($"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} (id int PRIMARY KEY, v text)");

    private static async Task<int> InsertRowsAsync(NpgsqlConnection connection, string table, int from, int to)
    {
        await using var command = new NpgsqlCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, InsertMegabyteRows, table), connection);
        command.Parameters.Add(new NpgsqlParameter { Value = from });
        command.Parameters.Add(new NpgsqlParameter { Value = to });
        return await command.ExecuteNonQueryAsync();
    }
}
