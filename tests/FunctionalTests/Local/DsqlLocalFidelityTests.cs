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
        var error = await Assert.ThrowsAsync<PostgresException>(() => new NpgsqlCommand(sql, connection).ExecuteNonQueryAsync());
        Assert.Equal((sqlState, message), (error.SqlState, error.MessageText));
        await using var check = new NpgsqlCommand("SELECT count(*) FROM pg_class WHERE relname LIKE 'fidelity\\_%'", connection);
        Assert.Equal(0L, await check.ExecuteScalarAsync());
    }

    [Fact]
    public async Task An_index_method_DSQL_does_not_have_is_refused()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await Execute(connection, "CREATE TABLE fidelity_idx_method (id int PRIMARY KEY, a int)");
        try
        {
            var error = await Assert.ThrowsAsync<PostgresException>(
                () => Execute(connection, "CREATE INDEX ASYNC fidelity_hash ON fidelity_idx_method USING hash (a)"));
            Assert.Equal(("42601", "syntax error at or near \"USING\""), (error.SqlState, error.MessageText));
        }
        finally
        {
            await Execute(connection, "DROP TABLE fidelity_idx_method");
        }
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
        await Execute(connection, "CREATE TABLE fidelity_dealloc (id int PRIMARY KEY)");
        try
        {
            await Execute(connection, "DEALLOCATE ALL");
            await using var insert = new NpgsqlCommand("INSERT INTO fidelity_dealloc SELECT generate_series(1, 3001)", connection);
            var error = await Assert.ThrowsAsync<PostgresException>(() => insert.ExecuteNonQueryAsync());
            Assert.Equal(("54000", "transaction row limit exceeded"), (error.SqlState, error.MessageText));
        }
        finally
        {
            await Execute(connection, "DROP TABLE fidelity_dealloc");
        }
    }

    [Fact]
    public async Task Drop_trigger_if_exists_on_a_table_is_accepted()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await Execute(connection, "CREATE TABLE fidelity_trg (id int PRIMARY KEY)");
        try
        {
            await Execute(connection, "DROP TRIGGER IF EXISTS fidelity_missing ON fidelity_trg");
        }
        finally
        {
            await Execute(connection, "DROP TABLE fidelity_trg");
        }
    }

    [Fact]
    public async Task A_table_with_more_than_255_columns_fails_with_54011_and_is_not_created()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var columns = string.Join(", ", Enumerable.Range(1, 256).Select(i => string.Create(CultureInfo.InvariantCulture, $"c{i} int")));
        var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, $"CREATE TABLE fidelity_wide ({columns})"));
        Assert.Equal(("54011", "tables can have at most 255 columns"), (error.SqlState, error.MessageText));
        Assert.Equal(0L, await Scalar(connection, "SELECT count(*) FROM pg_class WHERE relname = 'fidelity_wide'"));
    }

    [Fact]
    public async Task Adding_the_256th_column_fails_with_54011_and_the_table_keeps_255()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var columns = string.Join(", ", Enumerable.Range(1, 255).Select(i => string.Create(CultureInfo.InvariantCulture, $"c{i} int")));
        await Execute(connection, $"CREATE TABLE fidelity_full ({columns})");
        try
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "ALTER TABLE fidelity_full ADD COLUMN c256 int"));
            Assert.Equal(("54011", "tables can have at most 255 columns"), (error.SqlState, error.MessageText));
            Assert.Equal(255L, await Scalar(connection, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'fidelity_full'::regclass AND attnum > 0 AND NOT attisdropped"));
        }
        finally
        {
            await Execute(connection, "DROP TABLE fidelity_full");
        }
    }

    [Fact]
    public async Task A_primary_key_of_more_than_8_columns_fails_with_54011()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var columns = string.Join(", ", Enumerable.Range(1, 9).Select(i => string.Create(CultureInfo.InvariantCulture, $"k{i} int")));
        var key = string.Join(", ", Enumerable.Range(1, 9).Select(i => string.Create(CultureInfo.InvariantCulture, $"k{i}")));
        var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, $"CREATE TABLE fidelity_pk9 ({columns}, PRIMARY KEY ({key}))"));
        Assert.Equal(("54011", "more than 8 column keys in an index are not supported"), (error.SqlState, error.MessageText));
    }

    [Fact]
    public async Task An_index_of_more_than_8_key_columns_fails_with_54011()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var columns = string.Join(", ", Enumerable.Range(1, 9).Select(i => string.Create(CultureInfo.InvariantCulture, $"k{i} int")));
        await Execute(connection, $"CREATE TABLE fidelity_ix9 (id int PRIMARY KEY, {columns})");
        try
        {
            var key = string.Join(", ", Enumerable.Range(1, 9).Select(i => string.Create(CultureInfo.InvariantCulture, $"k{i}")));
            var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, $"CREATE INDEX ASYNC fidelity_ix9_k ON fidelity_ix9 ({key})"));
            Assert.Equal(("54011", "more than 8 column keys in an index are not supported"), (error.SqlState, error.MessageText));
        }
        finally
        {
            await Execute(connection, "DROP TABLE fidelity_ix9");
        }
    }

    [Fact]
    public async Task The_25th_index_on_a_table_fails_with_54000()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await Execute(connection, "CREATE TABLE fidelity_many_ix (id int PRIMARY KEY, a int)");
        try
        {
            for (var i = 1; i <= 24; i++)
            {
                await Execute(connection, string.Create(CultureInfo.InvariantCulture, $"CREATE INDEX ASYNC fidelity_many_ix_{i} ON fidelity_many_ix (a)"));
            }

            var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "CREATE INDEX ASYNC fidelity_many_ix_25 ON fidelity_many_ix (a)"));
            Assert.Equal(("54000", "more than 24 indexes per table are not allowed"), (error.SqlState, error.MessageText));
        }
        finally
        {
            await Execute(connection, "DROP TABLE fidelity_many_ix");
        }
    }

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
