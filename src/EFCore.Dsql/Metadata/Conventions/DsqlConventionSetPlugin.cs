using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Microsoft.EntityFrameworkCore.Metadata.Conventions;
using Microsoft.EntityFrameworkCore.Metadata.Conventions.Infrastructure;
using Microsoft.EntityFrameworkCore.ValueGeneration;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Metadata.Conventions;

/// <summary>Adds <see cref="DsqlKeyGenerationConvention"/> to the model-building conventions.</summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice. Scoped.</remarks>
public class DsqlConventionSetPlugin(IDbContextOptions options) : IConventionSetPlugin
{
    /// <inheritdoc />
    public virtual ConventionSet ModifyConventions(ConventionSet conventionSet)
    {
        var cacheSize = options.FindExtension<DsqlOptionsExtension>()?.IdentityCacheSize ?? DsqlLimits.DefaultIdentityCacheSize;

        // Appended last, so it runs after Npgsql's value-generation convention has chosen each property's strategy.
        conventionSet.ModelFinalizingConventions.Add(new DsqlKeyGenerationConvention(cacheSize));
        return conventionSet;
    }
}

/// <summary>
/// Key generation DSQL accepts: generated <see cref="Guid"/> keys are random (version 4) values EF generates on the
/// client when the entity is added, with <c>gen_random_uuid()</c> as the column default for other writers; and
/// identity columns get a <c>CACHE</c> DSQL accepts (it requires one: 1 or at least 65536) unless configured.
/// Explicit configuration always wins; the model validator refuses what DSQL cannot do (e.g. <c>int</c> identity).
/// </summary>
/// <param name="identityCacheSize">The identity <c>CACHE</c> for columns that do not configure one.</param>
public class DsqlKeyGenerationConvention(long identityCacheSize) : IModelFinalizingConvention
{
    /// <summary>The server default given to generated <see cref="Guid"/> keys.</summary>
    public const string GuidDefaultValueSql = "gen_random_uuid()";

    /// <inheritdoc />
    public virtual void ProcessModelFinalizing(IConventionModelBuilder modelBuilder, IConventionContext<IConventionModelBuilder> context)
    {
        foreach (var entityType in modelBuilder.Metadata.GetEntityTypes())
        {
            foreach (var property in entityType.GetDeclaredProperties())
            {
                if (IsGeneratedGuidKey(property))
                {
                    // Random keys spread writes like gen_random_uuid() does (no hot spot, unlike time-ordered v7), and a key the
                    // client knows makes a unit whose COMMIT answer was lost checkable, and a blind re-run fail with 23505
                    // instead of inserting a duplicate row.
                    property.Builder.HasDefaultValueSql(GuidDefaultValueSql);
                    property.Builder.HasValueGenerator(static (_, _) => new GuidValueGenerator());
                }

                if (property.GetValueGenerationStrategy() is NpgsqlValueGenerationStrategy.IdentityByDefaultColumn
                        or NpgsqlValueGenerationStrategy.IdentityAlwaysColumn
                    && property.FindAnnotation(NpgsqlAnnotationNames.IdentityOptions) is null)
                {
                    property.SetIdentityNumbersToCache(identityCacheSize);
                }
            }
        }
    }

    private static bool IsGeneratedGuidKey(IConventionProperty property)
        => (Nullable.GetUnderlyingType(property.ClrType) ?? property.ClrType) == typeof(Guid)
            && property.IsPrimaryKey()
            && !property.IsForeignKey()
            && property.ValueGenerated == ValueGenerated.OnAdd
            && property.GetDefaultValueSql() is null
            && property.TryGetDefaultValue(out _) is false
            && property.GetValueGeneratorFactory() is null;
}
