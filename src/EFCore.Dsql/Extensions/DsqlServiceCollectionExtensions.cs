using Microsoft.EntityFrameworkCore.Dsql.Metadata.Conventions;
using Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;
using Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;
using Microsoft.EntityFrameworkCore.Metadata.Conventions.Infrastructure;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql.EntityFrameworkCore.PostgreSQL.Storage.Internal;

// ReSharper disable once CheckNamespace
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Aurora DSQL services of EF Core.</summary>
public static class DsqlServiceCollectionExtensions
{
    /// <summary>
    /// Adds the services that make Npgsql's EF Core provider DSQL-correct to EF's internal service collection.
    /// Called by <c>UseAuroraDsql</c>; call it yourself only when you build EF's internal service provider.
    /// </summary>
    /// <remarks>
    /// Every DSQL service <em>replaces</em> Npgsql's registration of the same EF service, so the outcome does not depend
    /// on whether Npgsql's <c>AddEntityFrameworkNpgsql</c> (all <c>TryAdd</c>) ran before or after this method.
    /// This is the single place DSQL services are registered.
    /// </remarks>
    /// <param name="services">EF's internal service collection.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddEntityFrameworkDsql(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);

        services.AddEntityFrameworkNpgsql();

        services.Replace(ServiceDescriptor.Singleton<DsqlDataSourceManager, DsqlDataSourceManager>());
        services.Replace(ServiceDescriptor.Scoped<INpgsqlRelationalConnection, DsqlRelationalConnection>());
        services.Replace(ServiceDescriptor.Singleton<IRelationalTransactionFactory, DsqlRelationalTransactionFactory>());
        services.Replace(ServiceDescriptor.Scoped<IExecutionStrategyFactory, DsqlExecutionStrategyFactory>());
        services.Replace(ServiceDescriptor.Scoped<IRelationalDatabaseCreator, DsqlDatabaseCreator>());
        services.Replace(ServiceDescriptor.Singleton<IModelValidator, DsqlModelValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Scoped<IConventionSetPlugin, DsqlConventionSetPlugin>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IInterceptor, DsqlImplicitCommitInterceptor>());

        // Migrations read their settings from the context's DsqlOptionsExtension (DsqlMigrationsOptions.Of), which keys
        // EF's service provider, so nothing here depends on them.
        services.Replace(ServiceDescriptor.Scoped<IMigrationsSqlGenerator, DsqlMigrationsSqlGenerator>());
        services.Replace(ServiceDescriptor.Scoped<IHistoryRepository, DsqlHistoryRepository>());
        services.Replace(ServiceDescriptor.Scoped<IMigrator, DsqlMigrator>());
        services.Replace(ServiceDescriptor.Scoped<IMigrationCommandExecutor, DsqlMigrationCommandExecutor>());
        services.TryAddScoped<DsqlCurrentMigration>();
        return services;
    }
}
