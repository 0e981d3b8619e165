using EFCore.Dsql.FunctionalTests.Infrastructure;
using Npgsql;

namespace EFCore.Dsql.FunctionalTests.Local;

/// <summary>
/// DSQL's per-row limits (key 1 KiB, column 1 MiB, row 2 MiB), the view definition limit and the <c>numeric</c> default
/// precision, end to end through the emulator: each with the SQLSTATE and message of AWS's quotas table, and nothing of
/// the failed statement left behind.
/// </summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlLocalQuotaTests(DsqlLocalFixture fixture)
{
    [Fact]
    public async Task A_primary_key_over_1_KiB_fails_with_54000_key_size_too_large_and_writes_nothing()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await Execute(connection, "CREATE TABLE quota_pk (id text PRIMARY KEY, note text)");
        try
        {
            await Execute(connection, "INSERT INTO quota_pk VALUES (repeat('k', 1000), repeat('n', 5000))");
            var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "INSERT INTO quota_pk VALUES (repeat('k', 1100), 'x')"));
            Assert.Equal(("54000", "key size too large"), (error.SqlState, error.MessageText));
            var update = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "UPDATE quota_pk SET id = repeat('u', 2000)"));
            Assert.Equal(("54000", "key size too large"), (update.SqlState, update.MessageText));
            Assert.Equal(1000, await Scalar(connection, "SELECT max(length(id)) FROM quota_pk"));
            Assert.Equal(1L, await Scalar(connection, "SELECT count(*) FROM quota_pk"));
        }
        finally
        {
            await Execute(connection, "DROP TABLE quota_pk");
        }
    }

    [Fact]
    public async Task A_secondary_index_key_over_1_KiB_fails_with_54000_key_size_too_large()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await Execute(connection, "CREATE TABLE quota_ix (id int PRIMARY KEY, a text, b text)");
        try
        {
            await Execute(connection, "CREATE INDEX ASYNC quota_ix_ab ON quota_ix (a, b)");
            await Execute(connection, "INSERT INTO quota_ix VALUES (1, repeat('a', 500), repeat('b', 500))");
            var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "INSERT INTO quota_ix VALUES (2, repeat('a', 600), repeat('b', 600))"));
            Assert.Equal(("54000", "key size too large"), (error.SqlState, error.MessageText));
            Assert.Equal(1L, await Scalar(connection, "SELECT count(*) FROM quota_ix"));
        }
        finally
        {
            await Execute(connection, "DROP TABLE quota_ix");
        }
    }

    [Fact]
    public async Task A_column_over_1_MiB_outside_any_index_fails_with_54000_maximum_column_size_exceeded()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await Execute(connection, "CREATE TABLE quota_col (id int PRIMARY KEY, doc text)");
        try
        {
            await Execute(connection, "INSERT INTO quota_col VALUES (1, repeat('d', 1000000))");
            var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "INSERT INTO quota_col VALUES (2, repeat('d', 1048577))"));
            Assert.Equal(("54000", "maximum column size exceeded"), (error.SqlState, error.MessageText));
            Assert.Equal(1L, await Scalar(connection, "SELECT count(*) FROM quota_col"));
        }
        finally
        {
            await Execute(connection, "DROP TABLE quota_col");
        }
    }

    [Fact]
    public async Task A_row_over_2_MiB_fails_with_54000_maximum_row_size_exceeded()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await Execute(connection, "CREATE TABLE quota_row (id int PRIMARY KEY, a text, b text, c text)");
        try
        {
            await Execute(connection, "INSERT INTO quota_row VALUES (1, repeat('a', 900000), repeat('b', 900000), 'c')");
            var error = await Assert.ThrowsAsync<PostgresException>(
                () => Execute(connection, "INSERT INTO quota_row VALUES (2, repeat('a', 900000), repeat('b', 900000), repeat('c', 900000))"));
            Assert.Equal(("54000", "maximum row size exceeded"), (error.SqlState, error.MessageText));
            Assert.Equal(1L, await Scalar(connection, "SELECT count(*) FROM quota_row"));
        }
        finally
        {
            await Execute(connection, "DROP TABLE quota_row");
        }
    }

    [Fact]
    public async Task A_numeric_column_declared_without_precision_is_numeric_18_6_and_rounds_to_6_places()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await Execute(connection, "CREATE TABLE quota_numeric (id int PRIMARY KEY, amount numeric, exact numeric(10,2))");
        try
        {
            await Execute(connection, "ALTER TABLE quota_numeric ADD COLUMN added numeric");
            Assert.Equal(
                "added numeric(18,6), amount numeric(18,6), exact numeric(10,2)",
                await Scalar(connection, "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attname) FROM pg_attribute WHERE attrelid = 'quota_numeric'::regclass AND atttypid = 'numeric'::regtype"));
            await Execute(connection, "INSERT INTO quota_numeric VALUES (1, 1.23456789, 2.345, 3.1234567)");
            Assert.Equal("1.234568 3.123457", await Scalar(connection, "SELECT amount::text || ' ' || added::text FROM quota_numeric"));
            var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "INSERT INTO quota_numeric (id, amount) VALUES (2, 1e12)"));
            Assert.Equal("22003", error.SqlState);
        }
        finally
        {
            await Execute(connection, "DROP TABLE quota_numeric");
        }
    }

    [Fact]
    public async Task A_view_definition_over_2_MiB_fails_with_54000_view_definition_too_large_and_is_not_created()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var literal = new string('v', 2 * 1024 * 1024);
        var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, $"CREATE VIEW quota_big_view AS SELECT '{literal}' AS c"));
        Assert.Equal(("54000", "view definition too large"), (error.SqlState, error.MessageText));
        Assert.Equal(0L, await Scalar(connection, "SELECT count(*) FROM pg_class WHERE relname = 'quota_big_view'"));
        await Execute(connection, $"CREATE VIEW quota_small_view AS SELECT '{literal[..1000]}' AS c");
        await Execute(connection, "DROP VIEW quota_small_view");
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
