namespace Microsoft.EntityFrameworkCore.Dsql.Internal;

/// <summary>
/// Every limit and capability of Aurora DSQL the EF layer depends on, in one table (the recorded answers of a real
/// cluster under <c>tests/data/dsql-conformance</c> hold it). Change a DSQL rule here, nowhere else. The IAM token
/// lifetime bounds are the connector's (<see cref="DsqlAuthTokenGenerator.MinExpiresIn"/>, <see cref="DsqlAuthTokenGenerator.MaxExpiresIn"/>),
/// which checks them.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public static class DsqlLimits
{
    /// <summary>The PostgreSQL version DSQL reports; Npgsql generates SQL for it.</summary>
    public static readonly Version ServerVersion = new(16, 0);

    /// <summary>The smallest identity or sequence <c>CACHE</c> above 1 that DSQL accepts (it requires an explicit one).</summary>
    public const long SmallestLargeCache = 65_536;

    /// <summary>The identity <c>CACHE</c> used when none is configured: the fastest value with the smallest gaps.</summary>
    public const long DefaultIdentityCacheSize = SmallestLargeCache;

    /// <summary>The most key columns one index may have.</summary>
    public const int MaxIndexKeyColumns = 8;

    /// <summary>The most rows one transaction may change.</summary>
    public const int MaxRowsPerTransaction = 3_000;

    /// <summary>Rows per batch of a migration's backfill, well under <see cref="MaxRowsPerTransaction"/>.</summary>
    public const int BackfillBatchRows = 1_000;

    /// <summary>The shortest migration lock lease: renewing it more often than every second would only add round trips.</summary>
    public static readonly TimeSpan MinMigrationLockLease = TimeSpan.FromSeconds(1);

    /// <summary>PostgreSQL's system columns: every table has them, so a migration never creates, adds or drops them.</summary>
    public static readonly IReadOnlySet<string> SystemColumns = new HashSet<string>(StringComparer.Ordinal)
    {
        "tableoid", "xmin", "cmin", "xmax", "cmax", "ctid",
    };

    private const string TextAdvice = "Store it as text (or varchar) with a value converter.";
    private const string CollectionAdvice =
        "Store the values in a separate table, or as json/jsonb with a value converter (HasConversion) and HasColumnType(\"jsonb\").";
    private const string RangeAdvice = "DSQL has no range types; store the lower and upper bounds in two columns.";

    // Base type name (without modifiers) → advice. Every entry is refused by a real cluster (types.json) or absent from it
    // (extension types); arrays and ranges are recognised by their shape.
    private static readonly Dictionary<string, string> UnsupportedColumnTypes = new(StringComparer.OrdinalIgnoreCase)
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

    /// <summary>Whether DSQL accepts <paramref name="cache"/> as an identity or sequence <c>CACHE</c>: 1 or at least 65536.</summary>
    /// <param name="cache">The cache size.</param>
    public static bool IsValidCache(long cache) => cache == 1 || cache >= SmallestLargeCache;

    /// <summary>Whether <paramref name="column"/> is a PostgreSQL system column.</summary>
    /// <param name="column">The column name.</param>
    public static bool IsSystemColumn(string column) => SystemColumns.Contains(column);

    /// <summary>What to use instead of <paramref name="storeType"/> when DSQL does not have that column type; <see langword="null"/> when it does.</summary>
    /// <param name="storeType">A column type as written in the model or a migration, for example <c>bit(8)</c> or <c>integer[]</c>.</param>
    public static string? UnsupportedColumnTypeAdvice(string storeType)
    {
        var trimmed = storeType.Trim();
        if (trimmed.EndsWith("[]", StringComparison.Ordinal) || trimmed.StartsWith('_'))
        {
            return CollectionAdvice;
        }

        var parenthesis = trimmed.IndexOf('(');
        var baseName = (parenthesis >= 0 ? trimmed[..parenthesis] : trimmed).Trim();
        return baseName.EndsWith("range", StringComparison.OrdinalIgnoreCase) ? RangeAdvice : UnsupportedColumnTypes.GetValueOrDefault(baseName);
    }
}
