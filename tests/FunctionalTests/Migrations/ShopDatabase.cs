#pragma warning disable EF1001 // The tests set migration options through the internal options extension.

using EFCore.Dsql.FunctionalTests.Migrations.Shop;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

namespace EFCore.Dsql.FunctionalTests.Migrations;

/// <summary>Creates shop contexts against the emulator, configured with <c>UseAuroraDsql</c>, and inspects the backend.</summary>
internal static class ShopDatabase
{
    /// <summary>A context over <paramref name="dataSource" /> that does not retry (a test sees every failure).</summary>
    public static ShopContext CreateContext(NpgsqlDataSource dataSource, DsqlMigrationsOptions? options = null, params IInterceptor[] interceptors)
        => CreateContext(dataSource, options, retryOnFailure: false, interceptors);

    /// <summary>A context whose execution strategy retries transient failures (OCC conflicts among them) when asked.</summary>
    public static ShopContext CreateContext(
        NpgsqlDataSource dataSource, DsqlMigrationsOptions? options, bool retryOnFailure, params IInterceptor[] interceptors)
    {
        var builder = new DbContextOptionsBuilder<ShopContext>()
            .UseAuroraDsqlForTests(dataSource, ShopContext.Schema, dsql =>
            {
                if (retryOnFailure)
                {
                    dsql.EnableRetryOnFailure(3, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(50), null);
                }
                else
                {
                    dsql.DisableRetryOnFailure();
                }
            })
            .UseMigrationsOptions(options ?? DsqlMigrationsOptions.Default);
        if (interceptors.Length > 0)
        {
            builder.AddInterceptors(interceptors);
        }

        return new ShopContext(builder.Options);
    }

    /// <summary>Drops everything the shop migrations created, history and lock included.</summary>
    public static Task ResetAsync(DsqlLocalFixture fixture)
        => fixture.ExecuteOnBackendAsync("DROP SCHEMA IF EXISTS shop CASCADE");

    /// <summary>The migration ids in the history table.</summary>
    public static Task<List<string>> AppliedMigrationsAsync(DsqlLocalFixture fixture)
        => BackendSql.ColumnAsync(fixture.BackendConnectionString, """SELECT "MigrationId" FROM shop."__EFMigrationsHistory" ORDER BY 1""");

    /// <summary>One value from the backend (inspection that bypasses the DSQL rules).</summary>
    public static Task<T> BackendScalarAsync<T>(DsqlLocalFixture fixture, string sql)
        => BackendSql.ScalarAsync<T>(fixture.BackendConnectionString, sql);

    /// <summary>Runs one statement through the emulator, as <c>admin</c> with IAM auth.</summary>
    public static async Task ExecuteAsync(DsqlLocalFixture fixture, string sql)
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>How many indexes in <paramref name="schema" /> are not valid yet (their build job has not completed).</summary>
    public static Task<long> InvalidIndexCountAsync(DsqlLocalFixture fixture, string schema = ShopContext.Schema)
        => InvalidIndexCountAsync(fixture.BackendConnectionString, schema);

    /// <inheritdoc cref="InvalidIndexCountAsync(DsqlLocalFixture, string)" />
    public static Task<long> InvalidIndexCountAsync(string backendConnectionString, string schema)
        => BackendSql.ScalarAsync<long>(backendConnectionString, $"""
            SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relnamespace = '{schema}'::regnamespace AND NOT i.indisvalid
            """);

    /// <summary>How many constraints in <c>shop</c> are still <c>NOT VALID</c>.</summary>
    public static Task<long> UnvalidatedConstraintCountAsync(DsqlLocalFixture fixture)
        => BackendScalarAsync<long>(fixture, "SELECT count(*) FROM pg_constraint WHERE connamespace = 'shop'::regnamespace AND NOT convalidated");
}

/// <summary>The migration tests' own emulator, so that nothing else runs DDL against it at the same time.</summary>
[CollectionDefinition(Name)]
public sealed class DsqlMigrationsCollection : ICollectionFixture<DsqlLocalFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "DsqlMigrations";
}
