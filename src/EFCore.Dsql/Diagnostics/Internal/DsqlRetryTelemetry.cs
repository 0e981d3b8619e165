using System.Diagnostics;
using System.Diagnostics.Metrics;
using Dsql.Npgsql.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Diagnostics.Internal;

/// <summary>
/// What <see cref="DsqlRetryingExecutionStrategy"/> reports about retries: the meter <c>EFCore.Dsql</c>, an event on
/// the current activity (and a short <c>EFCore.Dsql</c> activity per retry), EFCore.Dsql's own log event and EF Core's
/// <see cref="CoreEventId.ExecutionStrategyRetrying"/> (so filters written for EF's built-in strategies keep working).
/// Instrument names are documented in docs/observability.md.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public static class DsqlRetryTelemetry
{
    /// <summary>The name of the meter and of the activity source.</summary>
    public const string Name = "EFCore.Dsql";

    /// <summary>The name of the activity event (and activity) recorded for each retry.</summary>
    public const string RetryEventName = "dsql.retry";

    private static readonly Meter Meter = new(Name, typeof(DsqlRetryTelemetry).Assembly.GetName().Version?.ToString(3));
    private static readonly ActivitySource ActivitySource = new(Name, typeof(DsqlRetryTelemetry).Assembly.GetName().Version?.ToString(3));

    private static readonly Counter<long> Retries = Meter.CreateCounter<long>(
        "efcore.dsql.retries", "{retry}", "Operations or units of work retried by the DSQL execution strategy, by SQLSTATE and DSQL code.");

    private static readonly Counter<long> GivenUp = Meter.CreateCounter<long>(
        "efcore.dsql.units.given_up", "{unit}", "Units of work the DSQL execution strategy stopped retrying: retry limit reached, or an outcome it cannot verify.");

    private static readonly Counter<long> AmbiguousCommits = Meter.CreateCounter<long>(
        "efcore.dsql.commits.ambiguous", "{commit}", "Failures after which a COMMIT may or may not have applied (the connection was lost or the server was unavailable).");

    /// <summary>Reports a retry through every channel.</summary>
    /// <param name="logger">EF's infrastructure logger.</param>
    /// <param name="exceptionsEncountered">The failures so far.</param>
    /// <param name="exception">The failure being retried.</param>
    /// <param name="retry">The one-based retry number.</param>
    /// <param name="maxRetries">The retry limit.</param>
    /// <param name="delay">The delay before the retry.</param>
    public static void Retrying(
        IDiagnosticsLogger<DbLoggerCategory.Infrastructure> logger,
        IReadOnlyList<Exception> exceptionsEncountered,
        Exception exception,
        int retry,
        int maxRetries,
        TimeSpan delay)
    {
        var description = DsqlFailureClassifier.Describe(exception);
        var tags = Tags(description);
        Retries.Add(1, tags);

        var eventTags = new ActivityTagsCollection(tags) { ["dsql.retry.number"] = retry, ["dsql.retry.delay_ms"] = delay.TotalMilliseconds };
        Activity.Current?.AddEvent(new ActivityEvent(RetryEventName, tags: eventTags));
        if (ActivitySource.HasListeners())
        {
            using var activity = ActivitySource.StartActivity(RetryEventName, ActivityKind.Internal, Activity.Current?.Context ?? default, tags);
            activity?.AddEvent(new ActivityEvent(RetryEventName, tags: eventTags));
        }

        logger.DsqlExecutionStrategyRetrying(exceptionsEncountered, description, retry, maxRetries, delay);
        logger.ExecutionStrategyRetrying(exceptionsEncountered, delay, async: true);
    }

    /// <summary>Counts a unit of work the strategy gave up on.</summary>
    /// <param name="exception">The last failure.</param>
    /// <param name="reason"><c>retry_limit</c> or <c>outcome_unknown</c>.</param>
    public static void GaveUp(Exception exception, string reason)
    {
        var tags = Tags(DsqlFailureClassifier.Describe(exception));
        tags.Add("dsql.give_up.reason", reason);
        GivenUp.Add(1, tags);
    }

    /// <summary>Counts a failure after which a commit may have applied; returns <see langword="false"/>, for use in an exception filter.</summary>
    /// <param name="exception">An attempt's failure.</param>
    /// <param name="classification">How the strategy classified it.</param>
    internal static bool Observe(Exception exception, DsqlFailure classification)
    {
        if (classification == DsqlFailure.OutcomeUnknown)
        {
            AmbiguousCommits.Add(1, Tags(DsqlFailureClassifier.Describe(exception)));
        }

        return false;
    }

    // "40001 OC000" -> SQLSTATE 40001, DSQL code OC000; a failure without a SQLSTATE reports its exception type.
    private static TagList Tags(string description)
    {
        var space = description.IndexOf(' ', StringComparison.Ordinal);
        var first = space < 0 ? description : description[..space];
        var isSqlState = first.Length == 5 && !first.StartsWith("OC", StringComparison.Ordinal);
        var code = space >= 0 ? description[(space + 1)..] : first.StartsWith("OC", StringComparison.Ordinal) ? first : "none";
        return new TagList
        {
            { "db.response.status_code", isSqlState ? first : first.StartsWith("OC", StringComparison.Ordinal) ? "40001" : "none" },
            { "dsql.error.code", code },
            { "error.type", isSqlState || first.StartsWith("OC", StringComparison.Ordinal) ? "PostgresException" : first },
        };
    }
}
