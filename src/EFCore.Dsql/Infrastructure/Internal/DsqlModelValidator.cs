using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

namespace Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;

/// <summary>
/// Refuses, when the model is built, what Aurora DSQL would refuse later when the schema is created: non-<c>bigint</c>
/// identity columns, serial and HiLo keys, identity caches DSQL rejects, and column types DSQL does not have
/// (<see cref="DsqlLimits.UnsupportedColumnTypeAdvice"/>). Each message names the entity, the property and the fix.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice. Singleton.</remarks>
public class DsqlModelValidator(
    ModelValidatorDependencies dependencies,
    RelationalModelValidatorDependencies relationalDependencies,
    INpgsqlSingletonOptions npgsqlSingletonOptions)
    : NpgsqlModelValidator(dependencies, relationalDependencies, npgsqlSingletonOptions)
{
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

                if (property.GetIdentityNumbersToCache() is { } cache && !DsqlLimits.IsValidCache(cache))
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

        var advice = DsqlLimits.UnsupportedColumnTypeAdvice(storeType);
        if (advice is not null)
        {
            throw new InvalidOperationException(DsqlStrings.UnsupportedColumnType(entityType.DisplayName(), property.Name, storeType, advice));
        }
    }
}
