using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Metadata;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

namespace Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;

/// <summary>
/// Refuses, when the model is built, what Aurora DSQL would refuse later when the schema is created: non-<c>bigint</c>
/// identity columns, serial and HiLo keys, identity caches DSQL rejects, and column types DSQL does not have
/// (arrays, ranges, enums, geometric, network, full-text, <c>money</c>, <c>xml</c>, bit strings…, per the recorded
/// answers of a real cluster). Each message names the entity, the property and the fix.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice. Singleton.</remarks>
public class DsqlModelValidator(
    ModelValidatorDependencies dependencies,
    RelationalModelValidatorDependencies relationalDependencies,
    INpgsqlSingletonOptions npgsqlSingletonOptions)
    : NpgsqlModelValidator(dependencies, relationalDependencies, npgsqlSingletonOptions)
{
    private const string TextAdvice = "Store it as text (or varchar) with a value converter.";
    private const string CollectionAdvice =
        "Store the values in a separate table, or as json/jsonb with a value converter (HasConversion) and HasColumnType(\"jsonb\").";

    // Base type name (lower case, without modifiers) → advice. Every entry is refused by a real cluster (types.json).
    private static readonly Dictionary<string, string> UnsupportedTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["money"] = "Use numeric (decimal) instead.",
        ["xml"] = TextAdvice,
        ["inet"] = TextAdvice,
        ["cidr"] = TextAdvice,
        ["macaddr"] = TextAdvice,
        ["macaddr8"] = TextAdvice,
        ["point"] = "Store the coordinates in numeric or double precision columns.",
        ["line"] = "Store the coefficients in numeric or double precision columns.",
        ["lseg"] = "Store the end points in numeric or double precision columns.",
        ["box"] = "Store the corners in numeric or double precision columns.",
        ["path"] = "Store the points as jsonb.",
        ["polygon"] = "Store the points as jsonb.",
        ["circle"] = "Store the centre and radius in numeric or double precision columns.",
        ["tsvector"] = "DSQL has no full-text search types; search text columns with LIKE or an external search service.",
        ["tsquery"] = "DSQL has no full-text search types; search text columns with LIKE or an external search service.",
        ["bit"] = "Use bytea, boolean or an integer type.",
        ["bit varying"] = "Use bytea or an integer type.",
        ["varbit"] = "Use bytea or an integer type.",
        ["pg_lsn"] = TextAdvice,
        ["hstore"] = "Use jsonb.",
        ["ltree"] = TextAdvice,
        ["citext"] = "Use text and compare with lower() or ILIKE.",
        ["geometry"] = "DSQL has no PostGIS; store coordinates in numeric columns or GeoJSON in jsonb.",
        ["geography"] = "DSQL has no PostGIS; store coordinates in numeric columns or GeoJSON in jsonb.",
        ["regconfig"] = TextAdvice,
    };

    /// <inheritdoc />
    public override void Validate(IModel model, IDiagnosticsLogger<DbLoggerCategory.Model.Validation> logger)
    {
        // DSQL's checks come first: they explain column types DSQL refuses better than a missing-mapping error would.
        if (model.GetPostgresEnums().Any())
        {
            throw new InvalidOperationException(DsqlStrings.EnumMappingNotSupported);
        }

        foreach (var entityType in model.GetEntityTypes())
        {
            foreach (var property in entityType.GetDeclaredProperties())
            {
                ValidateKeyGeneration(entityType, property);
                ValidateColumnType(entityType, property);
            }
        }

        base.Validate(model, logger);
    }

    /// <summary>Refuses identity, serial and HiLo configurations DSQL cannot run.</summary>
    /// <param name="entityType">The entity type.</param>
    /// <param name="property">The property.</param>
    protected virtual void ValidateKeyGeneration(IEntityType entityType, IProperty property)
    {
        var strategy = property.GetValueGenerationStrategy();
        switch (strategy)
        {
            case NpgsqlValueGenerationStrategy.SerialColumn:
                throw new InvalidOperationException(DsqlStrings.SerialColumn(entityType.DisplayName(), property.Name));
            case NpgsqlValueGenerationStrategy.SequenceHiLo:
                throw new InvalidOperationException(DsqlStrings.SequenceHiLo(entityType.DisplayName(), property.Name));
            case NpgsqlValueGenerationStrategy.IdentityByDefaultColumn or NpgsqlValueGenerationStrategy.IdentityAlwaysColumn:
                var clrType = Nullable.GetUnderlyingType(property.ClrType) ?? property.ClrType;
                var providerType = property.GetProviderClrType() ?? clrType;
                if ((Nullable.GetUnderlyingType(providerType) ?? providerType) != typeof(long))
                {
                    throw new InvalidOperationException(DsqlStrings.IntegerIdentity(entityType.DisplayName(), property.Name, clrType.Name));
                }

                if (property.GetIdentityNumbersToCache() is { } cache && cache != 1 && cache < DsqlOptionsExtension.DefaultIdentityCacheSize)
                {
                    throw new InvalidOperationException(DsqlStrings.IdentityCacheOnProperty(entityType.DisplayName(), property.Name, cache));
                }

                break;
        }
    }

    /// <summary>Refuses column types DSQL does not support.</summary>
    /// <param name="entityType">The entity type.</param>
    /// <param name="property">The property.</param>
    protected virtual void ValidateColumnType(IEntityType entityType, IProperty property)
    {
        if (property.DeclaringType.GetTableName() is null || property.GetColumnType() is not { } storeType)
        {
            return;
        }

        var trimmed = storeType.Trim();
        string? advice;
        if (trimmed.EndsWith("[]", StringComparison.Ordinal) || trimmed.StartsWith("_", StringComparison.Ordinal))
        {
            advice = CollectionAdvice;
        }
        else
        {
            var parenthesis = trimmed.IndexOf('(');
            var baseName = (parenthesis >= 0 ? trimmed[..parenthesis] : trimmed).Trim();
            advice = baseName.EndsWith("range", StringComparison.OrdinalIgnoreCase)
                ? "DSQL has no range types; store the lower and upper bounds in two columns."
                : UnsupportedTypes.GetValueOrDefault(baseName);
        }

        if (advice is not null)
        {
            throw new InvalidOperationException(DsqlStrings.UnsupportedColumnType(entityType.DisplayName(), property.Name, storeType, advice));
        }
    }
}
