using EFCore.Dsql.FunctionalTests.Infrastructure;
using Dsql.Local;
using Npgsql;

namespace EFCore.Dsql.FunctionalTests.Local;

/// <summary>
/// DSQL's per-database counts (10 schemas, 1,000 tables, 5,000 views, 5,000 sequences) on an emulator of their own: the
/// objects up to the limit are created directly on the backend (event triggers off, so it takes a second), the one over
/// it through the emulator fails with the quotas table's SQLSTATE and message and is not created.
/// </summary>
public sealed class DsqlLocalDatabaseQuotaTests : IAsyncLifetime
{
    private DsqlLocalServer? _server;

    private DsqlLocalServer Server => _server ?? throw new InvalidOperationException("The emulator has not started.");

    public async Task InitializeAsync() => _server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_schema_over_10_fails_with_54000_more_than_10_schemas_not_allowed()
    {
        await using var connection = await OpenAsync();
        var existing = (long)(await connection.ScalarAsync("SELECT count(*) FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'sys', 'dsql_local')"))!;
        for (var i = existing; i < 10; i++)
        {
            await connection.RunAsync($"CREATE SCHEMA quota_schema_{i}");
        }

        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.RunAsync("CREATE SCHEMA quota_schema_over"));
        Assert.Equal(("54000", "more than 10 schemas not allowed"), (error.SqlState, error.MessageText));
        Assert.Equal(0L, await connection.ScalarAsync("SELECT count(*) FROM pg_namespace WHERE nspname = 'quota_schema_over'"));
    }

    [Theory]
    [InlineData("tables", "CREATE TABLE quota_bulk_%s (id int PRIMARY KEY)", "CREATE TABLE quota_over (id int PRIMARY KEY)", "relkind IN ('r', 'p')", 1000, "creating more than 1000 tables not allowed")]
    [InlineData("views", "CREATE VIEW quota_bulk_%s AS SELECT 1 AS one", "CREATE VIEW quota_over AS SELECT 1 AS one", "relkind IN ('v', 'm')", 5000, "creating more than 5000 views not allowed")]
    [InlineData("sequences", "CREATE UNLOGGED SEQUENCE quota_bulk_%s", "CREATE SEQUENCE quota_over CACHE 1", "relkind = 'S'", 5000, "creating more than 5000 sequences is not allowed")]
    public async Task The_object_over_the_database_limit_fails_with_54000_and_is_not_created(string kind, string bulk, string over, string filter, int limit, string message)
    {
        await using (var backend = new NpgsqlConnection(Server.BackendConnectionString))
        {
            await backend.OpenAsync();
            // Up to the limit, counting what the emulator's user schemas already hold.
            await backend.RunAsync($"""
                SET session_replication_role = replica;
                DO $$
                DECLARE
                    existing int := (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                     WHERE {filter} AND n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('information_schema', 'sys', 'dsql_local'));
                BEGIN
                    FOR i IN 1 .. {limit} - existing LOOP
                        EXECUTE replace('{bulk}', '%s', i::text);
                    END LOOP;
                END $$;
                """);
        }

        await using var connection = await OpenAsync();
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.RunAsync(over));
        Assert.True(("54000", message) == (error.SqlState, error.MessageText), $"{kind}: {error.SqlState} {error.MessageText}");
        Assert.Equal(0L, await connection.ScalarAsync("SELECT count(*) FROM pg_class WHERE relname = 'quota_over'"));
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Server.GetConnectionString()) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }
}
