// Replacing EF's migration services is done through their pubternal registrations, as Npgsql does.
#pragma warning disable EF1001

using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>Registers the migration services for Aurora DSQL in EF's internal service provider.</summary>
internal static class DsqlMigrationsServices
{
    /// <summary>
    ///     Replaces Npgsql's SQL generator, history repository, migrator and command executor with the DSQL ones. Call it
    ///     after Npgsql's own registration (<c>AddEntityFrameworkNpgsql</c>).
    /// </summary>
    public static IServiceCollection AddDsqlMigrations(this IServiceCollection services, DsqlMigrationsOptions? options = null)
    {
        services.Replace(ServiceDescriptor.Singleton((options ?? DsqlMigrationsOptions.Default).Validate()));
        services.Replace(ServiceDescriptor.Scoped<IMigrationsSqlGenerator, DsqlMigrationsSqlGenerator>());
        services.Replace(ServiceDescriptor.Scoped<IHistoryRepository, DsqlHistoryRepository>());
        services.Replace(ServiceDescriptor.Scoped<IMigrator, DsqlMigrator>());
        services.Replace(ServiceDescriptor.Scoped<IMigrationCommandExecutor, DsqlMigrationCommandExecutor>());
        return services;
    }
}
