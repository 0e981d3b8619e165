using Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     How migrations behave on Aurora DSQL: one group of the context's <see cref="DsqlOptionsExtension" />, set through
///     <c>UseAuroraDsql(…, o => o.WaitForMigrationJobs(…).MigrationLockLease(…))</c>. Immutable; each value is checked when it is set.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed record DsqlMigrationsOptions
{
    private readonly TimeSpan _lockLease = TimeSpan.FromMinutes(10);
    private readonly TimeSpan _lockRetryMaxDelay = TimeSpan.FromSeconds(5);

    /// <summary>The defaults: wait for every index build and constraint validation, 10-minute lease.</summary>
    public static DsqlMigrationsOptions Default { get; } = new();

    /// <summary>
    ///     Whether the migrator waits (<c>CALL sys.wait_for_job</c>) for each index build and constraint validation before any
    ///     statement that could depend on it and before the history row, so that no later migration finds an index that is
    ///     not valid yet. On by default.
    /// </summary>
    public bool WaitForJobs { get; init; } = true;

    /// <summary>
    ///     How long the migration lock's lease lasts without renewal (at least one second). The holder renews it in the
    ///     background every third of the lease; another migrator takes over a lease that expired (its holder crashed or
    ///     stalled) and resumes the interrupted migration.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The lease is shorter than one second.</exception>
    public TimeSpan LockLease
    {
        get => _lockLease;
        init => _lockLease = value >= DsqlLimits.MinMigrationLockLease
            ? value
            : throw new ArgumentOutOfRangeException(nameof(LockLease), value, DsqlStrings.InvalidMigrationLockLease(value));
    }

    /// <summary>The longest pause between two attempts to take a lock that another migrator holds (positive).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The delay is not positive.</exception>
    public TimeSpan LockRetryMaxDelay
    {
        get => _lockRetryMaxDelay;
        init => _lockRetryMaxDelay = value > TimeSpan.Zero
            ? value
            : throw new ArgumentOutOfRangeException(nameof(LockRetryMaxDelay), value, DsqlStrings.NonPositiveDelay("migration lock retry delay"));
    }

    /// <summary>The migration options of a context: those of its <see cref="DsqlOptionsExtension" />, else the defaults.</summary>
    /// <param name="options">The context options.</param>
    public static DsqlMigrationsOptions Of(IDbContextOptions options)
        => options.FindExtension<DsqlOptionsExtension>()?.Migrations ?? Default;
}
