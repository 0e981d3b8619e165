using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     Implemented by an options extension that carries the migration options configured on the context (for example
///     through <c>UseAuroraDsql(…, o => …)</c>); its values win over the ones registered with
///     <see cref="DsqlMigrationsServices.AddDsqlMigrations" />. The extension must include them in its service-provider hash.
/// </summary>
internal interface IDsqlMigrationsOptionsSource
{
    /// <summary>The configured migration options, or <see langword="null" /> for the defaults.</summary>
    DsqlMigrationsOptions? MigrationsOptions { get; }
}

/// <summary>Finds the migration options that apply to a context.</summary>
internal static class DsqlMigrationsOptionsResolver
{
    /// <summary>The options from the context's options extensions if one carries them, else <paramref name="registered" />.</summary>
    public static DsqlMigrationsOptions Resolve(IDbContextOptions contextOptions, DsqlMigrationsOptions registered)
        => (contextOptions.Extensions.OfType<IDsqlMigrationsOptionsSource>().Select(e => e.MigrationsOptions).FirstOrDefault(o => o is not null)
            ?? registered).Validate();
}
