using System.Reflection;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Scaffolding;
using Npgsql.EntityFrameworkCore.PostgreSQL.Scaffolding.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Scaffolding.Internal;

/// <summary>Generates <c>optionsBuilder.UseAuroraDsql("…")</c> in a scaffolded context's <c>OnConfiguring</c>.</summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public class DsqlCodeGenerator(ProviderCodeGeneratorDependencies dependencies) : NpgsqlCodeGenerator(dependencies)
{
    private static readonly MethodInfo UseAuroraDsqlMethod = typeof(DsqlDbContextOptionsBuilderExtensions).GetMethod(
        nameof(DsqlDbContextOptionsBuilderExtensions.UseAuroraDsql),
        [typeof(DbContextOptionsBuilder), typeof(string), typeof(Action<DsqlDbContextOptionsBuilder>)])!;

    /// <inheritdoc />
    /// <remarks>Npgsql's provider options (plugins DSQL lacks, such as NetTopologySuite) are not carried over.</remarks>
    public override MethodCallCodeFragment GenerateUseProvider(string connectionString, MethodCallCodeFragment? providerOptions)
        => new(UseAuroraDsqlMethod, connectionString);
}
