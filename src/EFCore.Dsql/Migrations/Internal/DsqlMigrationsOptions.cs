namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>How migrations behave on Aurora DSQL. Immutable; registered as a singleton by <see cref="DsqlMigrationsServices" />.</summary>
internal sealed record DsqlMigrationsOptions
{
    /// <summary>The defaults: wait for every index build and constraint validation, 10-minute lease.</summary>
    public static DsqlMigrationsOptions Default { get; } = new();

    /// <summary>
    ///     Whether the migrator waits (<c>CALL sys.wait_for_job</c>) for each index build and constraint validation before the
    ///     next statement, so that no later migration finds an index that is not valid yet. On by default.
    /// </summary>
    public bool WaitForJobs { get; init; } = true;

    /// <summary>
    ///     How long the migration lock's lease lasts without renewal. The holder renews it after every statement; another
    ///     migrator takes over a lease that expired (its holder crashed) and resumes the interrupted migration.
    /// </summary>
    public TimeSpan LockLease { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The longest pause between two attempts to take a lock that another migrator holds.</summary>
    public TimeSpan LockRetryMaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Throws when a value cannot work.</summary>
    public DsqlMigrationsOptions Validate()
    {
        if (LockLease < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(LockLease), LockLease,
                "The migration lock lease must last at least one second; the default is 10 minutes.");
        }

        if (LockRetryMaxDelay <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(LockRetryMaxDelay), LockRetryMaxDelay,
                "The migration lock retry delay must be positive; the default is 5 seconds.");
        }

        return this;
    }
}
