#pragma warning disable EF1001 // The tests set migration options through the internal options extension.

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>Settings of the shipped <c>UseAuroraDsql</c> set-up that only tests change.</summary>
internal static class DsqlTestOptions
{
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
