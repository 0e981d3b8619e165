using System.Globalization;

namespace EFCore.Dsql.FunctionalTests.Local;

/// <summary>
/// Statement admission as DSQL's grammar has it, over-refusals fixed, and DSQL's schema quotas checked on the catalog
/// effect of DDL, end to end through the emulator (default options).
/// </summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlLocalFidelityTests(DsqlLocalFixture fixture)
{
    [Theory]
    [InlineData("CREATE TEMP VIEW fidelity_tv AS SELECT 1", "0A000", "TEMPORARY or TEMP view not supported for CREATE VIEW")]
    [InlineData("CREATE TEMPORARY SEQUENCE fidelity_ts CACHE 1", "0A000", "TEMPORARY or TEMP sequence not supported for CREATE SEQUENCE")]
    [InlineData("CREATE TABLE fidelity_ts (a int) TABLESPACE pg_default", "0A000", "TABLESPACE not supported for CREATE TABLE")]
    [InlineData("CREATE TABLE fidelity_with (a int) WITH (fillfactor = 70)", "0A000", "WITH not supported for CREATE TABLE")]
    [InlineData("CREATE TABLE fidelity_coll (a text COLLATE \"C\")", "0A000", "COLLATE not supported for CREATE TABLE")]
    [InlineData("DECLARE fidelity_cursor CURSOR FOR SELECT 1", "0A000", "unsupported statement: DeclareCursor")]
    [InlineData("COMMIT AND CHAIN", "0A000", "unsupported transaction statement: COMMIT AND CHAIN")]
    public async Task A_statement_outside_DSQLs_grammar_is_refused_and_leaves_nothing_behind(string sql, string sqlState, string message)
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await AssertRefusedAsync(connection, sql, sqlState, message);
        Assert.Equal(0L, await Scalar(connection, "SELECT count(*) FROM pg_class WHERE relname LIKE 'fidelity\\_%'"));
    }

    [Fact]
    public async Task An_index_method_DSQL_does_not_have_is_refused()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await WithTableAsync(connection, "fidelity_idx_method", "id int PRIMARY KEY, a int", async () =>
        {
            await AssertRefusedAsync(connection, "CREATE INDEX ASYNC fidelity_hash ON fidelity_idx_method USING hash (a)", "42601", "syntax error at or near \"USING\"");
        });
    }

    [Theory]
    [InlineData("DEALLOCATE ALL")]
    [InlineData("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ")]
    [InlineData("SET dsql.fidelity_probe = 'on'")]
    public async Task A_statement_DSQL_accepts_is_no_longer_refused(string sql)
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await Execute(connection, sql);
        Assert.Equal(1, await Scalar(connection, "SELECT 1"));
    }

    [Fact]
    public async Task Deallocate_all_keeps_the_row_limit_check_working()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await WithTableAsync(connection, "fidelity_dealloc", "id int PRIMARY KEY", async () =>
        {
            await Execute(connection, "DEALLOCATE ALL");
            await AssertRefusedAsync(connection, "INSERT INTO fidelity_dealloc SELECT generate_series(1, 3001)", "54000", "transaction row limit exceeded");
        });
    }

    [Fact]
    public async Task Drop_trigger_if_exists_on_a_table_is_accepted()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await WithTableAsync(connection, "fidelity_trg", "id int PRIMARY KEY", async () =>
        {
            await Execute(connection, "DROP TRIGGER IF EXISTS fidelity_missing ON fidelity_trg");
        });
    }

    [Fact]
    public async Task A_table_with_more_than_255_columns_fails_with_54011_and_is_not_created()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var columns = Numbered("c", 256, " int");
        await AssertRefusedAsync(connection, $"CREATE TABLE fidelity_wide ({columns})", "54011", "tables can have at most 255 columns");
        Assert.Equal(0L, await Scalar(connection, "SELECT count(*) FROM pg_class WHERE relname = 'fidelity_wide'"));
    }

    [Fact]
    public async Task Adding_the_256th_column_fails_with_54011_and_the_table_keeps_255()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var columns = Numbered("c", 255, " int");
        await WithTableAsync(connection, "fidelity_full", $"{columns}", async () =>
        {
            await AssertRefusedAsync(connection, "ALTER TABLE fidelity_full ADD COLUMN c256 int", "54011", "tables can have at most 255 columns");
            Assert.Equal(255L, await Scalar(connection, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'fidelity_full'::regclass AND attnum > 0 AND NOT attisdropped"));
        });
    }

    [Fact]
    public async Task A_primary_key_of_more_than_8_columns_fails_with_54011()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var columns = Numbered("k", 9, " int");
        var key = Numbered("k", 9);
        await AssertRefusedAsync(connection, $"CREATE TABLE fidelity_pk9 ({columns}, PRIMARY KEY ({key}))", "54011", "more than 8 column keys in an index are not supported");
    }

    [Fact]
    public async Task An_index_of_more_than_8_key_columns_fails_with_54011()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var columns = Numbered("k", 9, " int");
        await WithTableAsync(connection, "fidelity_ix9", $"id int PRIMARY KEY, {columns}", async () =>
        {
            var key = Numbered("k", 9);
            await AssertRefusedAsync(connection, $"CREATE INDEX ASYNC fidelity_ix9_k ON fidelity_ix9 ({key})", "54011", "more than 8 column keys in an index are not supported");
        });
    }

    [Fact]
    public async Task The_25th_index_on_a_table_fails_with_54000()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await WithTableAsync(connection, "fidelity_many_ix", "id int PRIMARY KEY, a int", async () =>
        {
            for (var i = 1; i <= 24; i++)
            {
                await Execute(connection, string.Create(CultureInfo.InvariantCulture, $"CREATE INDEX ASYNC fidelity_many_ix_{i} ON fidelity_many_ix (a)"));
            }

            await AssertRefusedAsync(connection, "CREATE INDEX ASYNC fidelity_many_ix_25 ON fidelity_many_ix (a)", "54000", "more than 24 indexes per table are not allowed");
        });
    }

    /// <summary>Runs <paramref name="sql"/> and expects DSQL's refusal: <paramref name="sqlState"/> and <paramref name="message"/>.</summary>
    private static async Task AssertRefusedAsync(NpgsqlConnection connection, string sql, string sqlState, string message)
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, sql));
        Assert.Equal((sqlState, message), (error.SqlState, error.MessageText));
    }

    /// <summary>Creates <paramref name="table"/> with <paramref name="definition"/>, runs <paramref name="body"/>, and drops the table whatever happens.</summary>
    private static async Task WithTableAsync(NpgsqlConnection connection, string table, string definition, Func<Task> body)
    {
        await Execute(connection, $"CREATE TABLE {table} ({definition})");
        try
        {
            await body();
        }
        finally
        {
            await Execute(connection, $"DROP TABLE {table}");
        }
    }

    /// <summary><c>p1, p2, … pN</c> for <paramref name="prefix"/> p, each followed by <paramref name="suffix"/>.</summary>
    private static string Numbered(string prefix, int count, string suffix = "")
        => string.Join(", ", Enumerable.Range(1, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"{prefix}{i}{suffix}")));

    private static async Task Execute(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<object?> Scalar(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
