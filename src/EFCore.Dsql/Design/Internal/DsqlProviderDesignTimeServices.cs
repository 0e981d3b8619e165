using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Dsql.Scaffolding.Internal;
using Microsoft.EntityFrameworkCore.Scaffolding;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.EntityFrameworkCore.Dsql.Design.Internal;

/// <summary>
/// The design-time services of the provider name <c>EFCore.Dsql</c> (<c>[assembly: DesignTimeProviderServices]</c> of
/// this assembly): <c>dotnet ef dbcontext scaffold "&lt;endpoint&gt;" EFCore.Dsql</c> connects with an IAM token, leaves
/// out the emulator's and the migrator's own objects, and generates <c>UseAuroraDsql</c>.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public class DsqlProviderDesignTimeServices : DsqlDesignTimeServices
{
    /// <inheritdoc />
    public override void ConfigureDesignTimeServices(IServiceCollection serviceCollection)
    {
        base.ConfigureDesignTimeServices(serviceCollection);
        serviceCollection.Replace(ServiceDescriptor.Singleton<IDatabaseModelFactory, DsqlDatabaseModelFactory>());
        serviceCollection.Replace(ServiceDescriptor.Singleton<IProviderConfigurationCodeGenerator, DsqlCodeGenerator>());
    }
}
