// The members are the messages themselves: their text documents them.
#pragma warning disable CS1591

namespace Microsoft.EntityFrameworkCore.Dsql.Internal;

/// <summary>
/// The messages EFCore.Dsql shows a user; they name what was wrong and how to fix it. Migration operations DSQL cannot run
/// are catalogued with their recipes in <see cref="Migrations.Internal.DsqlMigrationRefusals"/>; the migration lock and job
/// runners word their failures beside the SQL they run (<c>DsqlMigrationLease</c>, <c>DsqlJobMigrationCommand</c>,
/// <c>DsqlMigrationCommandExecutor</c>).
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public static class DsqlStrings
{
    public const string NegativeRetryCount = "The maximum number of retries cannot be negative; use 0 to disable retrying.";

    public const string MaxDelayBelowBase = "The maximum retry delay must be at least the base delay.";

    public static string NonPositiveDelay(string name) => $"The {name} must be positive.";

    public const string NegativeRetryDuration = "The retry time budget cannot be negative; use TimeSpan.Zero to disable retrying.";

    public static string RetryLimitExceeded(int retries, TimeSpan elapsed, string lastError, string strategy, bool lastWasConflict)
        => $"The operation still failed after {retries} retries in {elapsed.TotalSeconds:0.#} s (last error: {lastError}); {strategy} gave up. "
            + (lastWasConflict
                ? "Heavy contention on the same rows causes repeated optimistic-concurrency conflicts: shorten the transaction, "
                    + "spread writes over more rows, or raise the budget with UseAuroraDsql(..., o => o.EnableRetryOnFailure(...))."
                : "The database stayed unreachable or overloaded: check the endpoint, DNS, network and TLS settings and the cluster's "
                    + "connection limits; raise the budget with UseAuroraDsql(..., o => o.EnableRetryOnFailure(...)) for longer outages.");

    public static string ForeignRetryingStrategy(string strategy)
        => $"The execution strategy {strategy} replaced DsqlRetryingExecutionStrategy. It does not retry Aurora DSQL's optimistic-concurrency "
            + "conflicts (OC000/OC001) the way DSQL needs, backs off in seconds, and re-runs a unit whose COMMIT answer was lost. "
            + "Remove EnableRetryOnFailure()/ExecutionStrategy(...) from the Npgsql options and configure retries with "
            + "UseAuroraDsql(..., o => o.EnableRetryOnFailure(...)) instead (or subclass DsqlRetryingExecutionStrategy). "
            + "With .NET Aspire, call EnrichNpgsqlDbContext<TContext>(settings => settings.DisableRetry = true).";

    public static string VerificationFailed(string error)
        => $"The operation failed ({error}) with an outcome that may be unknown, and the verifySucceeded delegate threw while checking it; "
            + "the operation was not retried so it cannot be applied twice. See the inner exceptions.";

    public static string IsolationLevelNotSupported(System.Data.IsolationLevel level)
        => $"Aurora DSQL runs every transaction at REPEATABLE READ (snapshot isolation) and cannot give IsolationLevel.{level}. "
            + "Call BeginTransaction() without an isolation level, or pass IsolationLevel.RepeatableRead or IsolationLevel.Snapshot.";

    public const string SavepointsNotSupported =
        "Aurora DSQL does not support savepoints (SAVEPOINT / ROLLBACK TO SAVEPOINT / RELEASE SAVEPOINT are refused with 0A000). "
        + "Roll back the whole transaction and retry the unit of work instead, for example inside Database.CreateExecutionStrategy().ExecuteAsync(...).";

    public const string CreateDatabaseNotSupported =
        "An Aurora DSQL cluster has exactly one database ('postgres'), which always exists; it cannot be created. "
        + "Use EnsureCreated() to create the model's tables, or migrations (Database.Migrate()).";

    public static string InvalidIdentityCache(long cache)
        => $"An identity CACHE of {cache} is not accepted by Aurora DSQL: it must be 1 or at least {DsqlLimits.SmallestLargeCache}.";

    public static string InvalidMigrationLockLease(TimeSpan lease)
        => $"A migration lock lease of {lease} is too short: it must last at least one second (the default is 10 minutes), long enough for the slowest migration statement.";

    public const string ProfileAndCredentials =
        "Both an AWS profile and explicit credentials were configured for Aurora DSQL; configure only one of o.Profile(...) and o.Credentials(...).";

    public const string DataSourceAndAuthSettings =
        "UseAuroraDsql was given an NpgsqlDataSource, which already carries its own authentication; region, profile, credentials and token "
        + "lifetime settings cannot be applied to it. Configure them on the data source (UseDsqlAuthentication) instead.";

    public static string IntegerIdentity(string entity, string property, string clrType)
        => $"The property '{entity}.{property}' ({clrType}) is generated by an identity column, but Aurora DSQL identity columns must be bigint. "
            + $"Change '{property}' to long, use a Guid key (generated with gen_random_uuid()), or configure it with ValueGeneratedNever().";

    public static string SerialColumn(string entity, string property)
        => $"The property '{entity}.{property}' uses a serial column, which Aurora DSQL does not have. "
            + "Use an identity column (the default: UseIdentityByDefaultColumn()) on a long property, or a Guid key.";

    public static string SequenceHiLo(string entity, string property)
        => $"The property '{entity}.{property}' uses the HiLo pattern, whose sequence needs increments Aurora DSQL's CACHE rules do not fit. "
            + "Use an identity column on a long property or a Guid key.";

    public static string IdentityCacheOnProperty(string entity, string property, long cache)
        => $"The identity column '{entity}.{property}' has CACHE {cache}; Aurora DSQL accepts only 1 or at least {DsqlLimits.SmallestLargeCache}. "
            + "Remove HasIdentityOptions(numbersToCache: ...) to use the configured default, or pick a valid value.";

    public static string UnsupportedColumnType(string entity, string property, string storeType, string advice)
        => $"The property '{entity}.{property}' maps to the column type '{storeType}', which Aurora DSQL does not support. {advice}";

    public const string EnumMappingNotSupported =
        "Aurora DSQL does not support PostgreSQL enum types (CREATE TYPE ... AS ENUM is refused). Remove MapEnum(...) and store the enum "
        + "as text (HasConversion<string>()) or as an integer.";

    public const string RangeMappingNotSupported =
        "Aurora DSQL does not support range types. Remove MapRange(...) and store the bounds in two columns.";

    public const string UnterminatedCreateTableWithComments =
        "Unterminated CREATE TABLE cannot carry comments: each comment is a statement of its own.";

    public const string UnterminatedAddColumn = "Aurora DSQL adds a column in several statements; it cannot be generated unterminated.";

    public const string NullDataSource = "The NpgsqlDataSource passed to UseAuroraDsql is null.";
}
