namespace Dsql.Npgsql;

/// <summary>
/// Turns on automatic verification of commits whose answer was lost: every unit of work that writes inserts one row
/// with a unique id (a <em>commit marker</em>) into a small table, in its own transaction, just before its
/// <c>COMMIT</c>. When the connection fails while the <c>COMMIT</c> is in flight, a new connection looks the marker up:
/// found, the unit committed and is not run again; not found, it did not commit and is retried like any transient
/// failure. Without markers (the default), such a unit surfaces as <see cref="DsqlCommitOutcomeUnknownException"/>.
/// </summary>
/// <remarks>
/// <para>
/// The table (<c>id uuid PRIMARY KEY, created_at timestamptz</c>) is created with <c>CREATE TABLE IF NOT EXISTS</c>,
/// in a transaction of its own, the first time a process uses it (DSQL runs DDL and DML in separate transactions), unless
/// <see cref="CreateTable"/> is <see langword="false"/>: then create it yourself (the role needs <c>INSERT</c>,
/// <c>SELECT</c> and, for <see cref="DsqlCommitMarkers.DeleteExpiredAsync"/>, <c>DELETE</c> on it).
/// </para>
/// <para>
/// The marker id stays the same across the retries of one unit, so even a lost <c>COMMIT</c> that lands after the
/// look-up cannot be applied twice: the re-run's marker collides with it (an OCC conflict, then a unique violation
/// that ends the unit as applied). The marker counts towards DSQL's 3,000-row limit per transaction (a unit can write
/// 2,999 rows). Delete old markers with <see cref="DsqlCommitMarkers.DeleteExpiredAsync"/>.
/// </para>
/// </remarks>
public sealed record DsqlCommitMarkerOptions
{
    /// <summary>The default table name: <c>dsql_commit_markers</c>.</summary>
    public const string DefaultTable = "dsql_commit_markers";

    /// <summary>The default schema: <c>public</c>.</summary>
    public const string DefaultSchema = "public";

    /// <summary>The default retention: markers older than one day are deleted by <see cref="DsqlCommitMarkers.DeleteExpiredAsync"/>.</summary>
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(1);

    /// <summary>The default settings.</summary>
    public static DsqlCommitMarkerOptions Default { get; } = new();

    /// <summary>The schema of the marker table (default <c>public</c>).</summary>
    public string Schema { get; init; } = DefaultSchema;

    /// <summary>The name of the marker table (default <c>dsql_commit_markers</c>).</summary>
    public string Table { get; init; } = DefaultTable;

    /// <summary>Whether the table is created on first use (default <see langword="true"/>); otherwise it must exist.</summary>
    public bool CreateTable { get; init; } = true;

    /// <summary>How long a marker must be kept: longer than any unit of work can take to be verified (default one day).</summary>
    public TimeSpan Retention { get; init; } = DefaultRetention;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    internal DsqlCommitMarkerOptions Validated()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Schema, nameof(Schema));
        ArgumentException.ThrowIfNullOrWhiteSpace(Table, nameof(Table));
        if (Retention <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Retention), Retention, "The commit-marker retention must be positive.");
        }

        return this;
    }

    /// <inheritdoc />
    public override string ToString() => $"{Schema}.{Table} (create: {CreateTable}, retention: {Retention})";
}
