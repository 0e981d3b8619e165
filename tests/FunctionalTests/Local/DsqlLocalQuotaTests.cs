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
    [Theory]
    [InlineData("primary key", "id text PRIMARY KEY, note text", null,
        "INSERT INTO quota_w VALUES (repeat('k', 1000), repeat('n', 5000))", "INSERT INTO quota_w VALUES (repeat('k', 1100), 'x')", "key size too large")]
    [InlineData("primary key by update", "id text PRIMARY KEY, note text", null,
        "INSERT INTO quota_w VALUES (repeat('k', 1000), 'x')", "UPDATE quota_w SET id = repeat('u', 2000)", "key size too large")]
    [InlineData("secondary index", "id int PRIMARY KEY, a text, b text", "CREATE INDEX ASYNC quota_w_ab ON quota_w (a, b)",
        "INSERT INTO quota_w VALUES (1, repeat('a', 500), repeat('b', 500))", "INSERT INTO quota_w VALUES (2, repeat('a', 600), repeat('b', 600))", "key size too large")]
    [InlineData("column", "id int PRIMARY KEY, doc text", null,
        "INSERT INTO quota_w VALUES (1, repeat('d', 1000000))", "INSERT INTO quota_w VALUES (2, repeat('d', 1048577))", "maximum column size exceeded")]
    [InlineData("row", "id int PRIMARY KEY, a text, b text, c text", null,
        "INSERT INTO quota_w VALUES (1, repeat('a', 900000), repeat('b', 900000), 'c')",
        "INSERT INTO quota_w VALUES (2, repeat('a', 900000), repeat('b', 900000), repeat('c', 900000))", "maximum row size exceeded")]
    public async Task A_write_over_a_size_limit_fails_with_54000_and_its_message_and_writes_nothing(
        string limit, string columns, string? index, string withinLimit, string overLimit, string message)
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await connection.RunAsync($"CREATE TABLE quota_w ({columns})");
        try
        {
            if (index is not null)
            {
                await connection.RunAsync(index);
            }

            await connection.RunAsync(withinLimit);
            var before = await connection.ScalarAsync("SELECT md5(string_agg(w::text, ',')) FROM quota_w w");
            var error = await Assert.ThrowsAsync<PostgresException>(() => connection.RunAsync(overLimit));
            Assert.True(("54000", message) == (error.SqlState, error.MessageText), $"{limit}: {error.SqlState} {error.MessageText}");
            Assert.Equal(before, await connection.ScalarAsync("SELECT md5(string_agg(w::text, ',')) FROM quota_w w"));
        }
        finally
        {
            await connection.RunAsync("DROP TABLE quota_w");
        }
    }

    [Fact]
    public async Task A_numeric_column_declared_without_precision_is_numeric_18_6_and_rounds_to_6_places()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await connection.RunAsync("CREATE TABLE quota_numeric (id int PRIMARY KEY, amount numeric, exact numeric(10,2))");
        try
        {
            await connection.RunAsync("ALTER TABLE quota_numeric ADD COLUMN added numeric");
            Assert.Equal(
                "added numeric(18,6), amount numeric(18,6), exact numeric(10,2)",
                await connection.ScalarAsync("SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attname) FROM pg_attribute WHERE attrelid = 'quota_numeric'::regclass AND atttypid = 'numeric'::regtype"));
            await connection.RunAsync("INSERT INTO quota_numeric VALUES (1, 1.23456789, 2.345, 3.1234567)");
            Assert.Equal("1.234568 3.123457", await connection.ScalarAsync("SELECT amount::text || ' ' || added::text FROM quota_numeric"));
            var error = await Assert.ThrowsAsync<PostgresException>(() => connection.RunAsync("INSERT INTO quota_numeric (id, amount) VALUES (2, 1e12)"));
            Assert.Equal("22003", error.SqlState);
        }
        finally
        {
            await connection.RunAsync("DROP TABLE quota_numeric");
        }
    }

    [Fact]
    public async Task A_view_definition_over_2_MiB_fails_with_54000_view_definition_too_large_and_is_not_created()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var literal = new string('v', 2 * 1024 * 1024);
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.RunAsync($"CREATE VIEW quota_big_view AS SELECT '{literal}' AS c"));
        Assert.Equal(("54000", "view definition too large"), (error.SqlState, error.MessageText));
        Assert.Equal(0L, await connection.ScalarAsync("SELECT count(*) FROM pg_class WHERE relname = 'quota_big_view'"));
        await connection.RunAsync($"CREATE VIEW quota_small_view AS SELECT '{literal[..1000]}' AS c");
        await connection.RunAsync("DROP VIEW quota_small_view");
    }
}
