#pragma warning disable EF1001 // The tests set migration options through the internal options extension.

using EFCore.Dsql.FunctionalTests.EFCore;
using Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>
/// The one place test contexts are configured: the shipped <c>UseAuroraDsql</c> set-up, the settings only tests change,
/// and <see cref="TestWarnings.Configure"/> (EF's many-service-providers warning logged, not thrown).
/// </summary>
internal static class DsqlTestOptions
{
    /// <summary>
    ///     <c>UseAuroraDsql</c> over <paramref name="dataSource"/> as applications write it, with the migrations history in
    ///     <paramref name="historySchema"/> (when given) and <paramref name="dsql"/> applied after.
    /// </summary>
    public static TBuilder UseAuroraDsqlForTests<TBuilder>(
        this TBuilder builder, NpgsqlDataSource dataSource, string? historySchema = null, Action<DsqlDbContextOptionsBuilder>? dsql = null)
        where TBuilder : DbContextOptionsBuilder
    {
        builder.UseAuroraDsql(dataSource, o =>
        {
            if (historySchema is not null)
            {
                o.Npgsql(npgsql => npgsql.MigrationsHistoryTable("__EFMigrationsHistory", historySchema));
            }

            dsql?.Invoke(o);
        });
        return (TBuilder)builder.ConfigureWarnings(TestWarnings.Configure);
    }

    /// <summary>Options for <typeparamref name="TContext"/> that never retry (a test sees every failure), history in <paramref name="historySchema"/>.</summary>
    public static DbContextOptions<TContext> WithoutRetries<TContext>(NpgsqlDataSource dataSource, string historySchema)
        where TContext : DbContext
        => new DbContextOptionsBuilder<TContext>().UseAuroraDsqlForTests(dataSource, historySchema, dsql => dsql.DisableRetryOnFailure()).Options;

    /// <summary>
    ///     Replaces the migration options of a builder already configured with <c>UseAuroraDsql</c>, including those the public
    ///     builder does not expose (the lock's retry delay, shortened so that lock tests wait milliseconds, not seconds).
    /// </summary>
    public static TBuilder UseMigrationsOptions<TBuilder>(this TBuilder builder, DsqlMigrationsOptions options)
        where TBuilder : DbContextOptionsBuilder
    {
        var extension = builder.Options.FindExtension<DsqlOptionsExtension>()
            ?? throw new InvalidOperationException("Call UseAuroraDsql before UseMigrationsOptions.");
        ((IDbContextOptionsBuilderInfrastructure)builder).AddOrUpdateExtension(extension.WithMigrations(options));
        return builder;
    }
}
