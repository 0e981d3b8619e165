using Microsoft.EntityFrameworkCore.Design;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql.EntityFrameworkCore.PostgreSQL.Design.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Design.Internal;

/// <summary>
/// The design-time services of EFCore.Dsql for contexts, found by EF's tools through the
/// <c>[assembly: DesignTimeServicesReference]</c> that <c>EFCore.Dsql.Design</c>'s build targets add to the application.
/// </summary>
/// <remarks>
/// <para>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</para>
/// <para>
/// EF builds its design-time container from Npgsql's design services and takes the migrator and history repository
/// from the context; the SQL generator it registers is Npgsql's. This makes every migrations service the tools resolve
/// the context's own, so <c>migrations script</c>, <c>database update</c> and bundles generate the DSQL SQL for a
/// <c>UseAuroraDsql</c> context (and plain Npgsql SQL for a <c>UseNpgsql</c> context in the same project). Scaffolding
/// with the provider <c>Npgsql.EntityFrameworkCore.PostgreSQL</c> stays Npgsql's; with <c>EFCore.Dsql</c> it is
/// <see cref="DsqlProviderDesignTimeServices"/>'.
/// </para>
/// </remarks>
public class DsqlDesignTimeServices : IDesignTimeServices
{
    /// <inheritdoc />
    public virtual void ConfigureDesignTimeServices(IServiceCollection serviceCollection)
    {
        ArgumentNullException.ThrowIfNull(serviceCollection);

        // EF 10 configures referenced services before the provider's; Npgsql's (all TryAdd) come first here so these
        // services are complete on their own, and the later provider pass cannot undo the replacements below.
        new NpgsqlDesignTimeServices().ConfigureDesignTimeServices(serviceCollection);

        // Resolved only by commands that have a context (migrations, database update, bundles); dbcontext scaffold never asks.
        serviceCollection.Replace(ServiceDescriptor.Scoped(ContextService<IMigrationsSqlGenerator>));
        serviceCollection.Replace(ServiceDescriptor.Scoped(ContextService<IMigrator>));
        serviceCollection.Replace(ServiceDescriptor.Scoped(ContextService<IHistoryRepository>));
    }

    private static TService ContextService<TService>(IServiceProvider services)
        where TService : class
        => services.GetRequiredService<ICurrentDbContext>().Context.GetService<TService>();
}
