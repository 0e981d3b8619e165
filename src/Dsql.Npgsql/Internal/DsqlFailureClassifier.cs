using System.Net.Sockets;

namespace Dsql.Npgsql.Internal;

/// <summary>How <see cref="DsqlFailureClassifier"/> judges a failure.</summary>
internal enum DsqlFailure
{
    /// <summary>Retrying cannot help (syntax, constraint, auth, limits, unsupported features) or the failure is not a database one.</summary>
    Permanent,

    /// <summary>The unit of work did not take effect and can run again: OCC conflicts, transient connection failures before COMMIT.</summary>
    Retryable,

    /// <summary>
    /// The unit may or may not have taken effect: a <see cref="DsqlCommitOutcomeUnknownException"/> (the connection failed while
    /// a COMMIT or an autocommit write was in flight) or DSQL's <c>XX000 server unavailable</c>. Retried only after a
    /// verification said the unit did not take effect.
    /// </summary>
    OutcomeUnknown,
}

/// <summary>
/// Decides whether a failure reported while talking to Aurora DSQL may be retried. The one classifier behind
/// <c>DsqlRetry</c> (ADO.NET, Dapper) and EF Core's <c>DsqlRetryingExecutionStrategy</c>.
/// </summary>
/// <remarks>
/// The whole exception chain is searched: EF wraps database errors (<c>DbUpdateException</c>,
/// <c>InvalidOperationException</c>), and applications wrap them again.
/// </remarks>
internal static class DsqlFailureClassifier
{
    /// <summary>SQLSTATEs retried by default; see <c>docs/efcore.md</c> for the list and why.</summary>
    public static readonly IReadOnlySet<string> DefaultRetryableSqlStates = new HashSet<string>(StringComparer.Ordinal)
    {
        "40001", // serialization_failure: DSQL's OCC conflicts (OC000 data, OC001 schema)
        "40P01", // deadlock_detected (plain PostgreSQL, e.g. Dsql.Local's backend)
        "53300", // too_many_connections: DSQL asks for backoff
        "53400", // configuration_limit_exceeded: DSQL's connection-rate limit
        "57P01", // admin_shutdown: the server ended the session
        "57P02", // crash_shutdown
        "57P03", // cannot_connect_now
        "08000", "08001", "08003", "08004", "08006", "08007", // connection exceptions
    };

    /// <summary>Classifies <paramref name="exception"/> and every exception it wraps.</summary>
    /// <param name="exception">The failure.</param>
    /// <param name="additionalSqlStates">SQLSTATEs the user asked to retry as well.</param>
    public static DsqlFailure Classify(Exception exception, IReadOnlySet<string>? additionalSqlStates = null)
    {
        for (var current = exception; current is not null; current = Next(current))
        {
            // Checked first: whatever the connection failure looked like, a COMMIT was in flight.
            if (current is DsqlCommitOutcomeUnknownException)
            {
                return DsqlFailure.OutcomeUnknown;
            }
        }

        for (var current = exception; current is not null; current = Next(current))
        {
            // DSQL puts its OCC codes in the message; an application may have wrapped that message anywhere.
            if (HasOccCode(current.Message))
            {
                return DsqlFailure.Retryable;
            }

            switch (current)
            {
                case PostgresException postgres:
                    if (additionalSqlStates?.Contains(postgres.SqlState) == true || DefaultRetryableSqlStates.Contains(postgres.SqlState))
                    {
                        return DsqlFailure.Retryable;
                    }

                    if (IsServerUnavailable(postgres))
                    {
                        return DsqlFailure.OutcomeUnknown;
                    }

                    // A server answer is authoritative: 0A000, 23xxx, 28xxx, 42xxx, 54000, 53200… are permanent.
                    return DsqlFailure.Permanent;

                case NpgsqlException { IsTransient: true }: // I/O, socket and timeout failures on the wire
                case TimeoutException:
                    return DsqlFailure.Retryable;
            }
        }

        return DsqlFailure.Permanent;
    }

    /// <summary>
    /// Whether a failure of a <c>COMMIT</c> (or of an autocommit write) leaves its outcome unknown: the server's answer
    /// was lost (I/O error, timeout, broken connection, <c>08xxx</c>, <c>57P0x</c>) or was DSQL's <c>XX000 server
    /// unavailable</c>. Any other server answer (<c>40001</c>, <c>23505</c>, <c>54000</c>…) says the transaction did not commit.
    /// </summary>
    /// <param name="exception">The failure of the COMMIT.</param>
    public static bool IsAmbiguousCommitFailure(Exception exception)
    {
        if (exception is OperationCanceledException)
        {
            return false;
        }

        var lostAnswer = false;
        for (var current = exception; current is not null; current = Next(current))
        {
            switch (current)
            {
                case DsqlCommitOutcomeUnknownException:
                    return true;
                case PostgresException postgres:
                    return postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
                        || postgres.SqlState.StartsWith("57P0", StringComparison.Ordinal)
                        || IsServerUnavailable(postgres);
                case NpgsqlException or TimeoutException or IOException or SocketException:
                    lostAnswer = true;
                    break;
            }
        }

        return lostAnswer;
    }

    /// <summary>Whether the failure is an optimistic-concurrency conflict (SQLSTATE 40001, OC000/OC001) anywhere in its chain.</summary>
    /// <param name="exception">The failure.</param>
    public static bool IsConcurrencyConflict(Exception exception)
    {
        for (var current = exception; current is not null; current = Next(current))
        {
            if (current is PostgresException { SqlState: "40001" } || HasOccCode(current.Message))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The SQLSTATE (and DSQL OCC code) to report for a failure, for logs; never includes secrets.</summary>
    /// <param name="exception">The failure.</param>
    public static string Describe(Exception exception)
    {
        for (var current = exception; current is not null; current = Next(current))
        {
            if (current is PostgresException postgres)
            {
                var occ = postgres.MessageText.Contains("(OC001)", StringComparison.Ordinal) ? " OC001"
                    : postgres.MessageText.Contains("(OC000)", StringComparison.Ordinal) ? " OC000"
                    : "";
                return postgres.SqlState + occ;
            }
        }

        for (var current = exception; current is not null; current = Next(current))
        {
            if (current.Message.Contains("(OC000)", StringComparison.Ordinal))
            {
                return "OC000";
            }

            if (current.Message.Contains("(OC001)", StringComparison.Ordinal))
            {
                return "OC001";
            }
        }

        return exception.GetType().Name;
    }

    /// <summary>Finds the first exception of type <typeparamref name="T"/> in the chain.</summary>
    /// <param name="exception">The failure.</param>
    public static T? Find<T>(Exception exception)
        where T : Exception
    {
        for (var current = exception; current is not null; current = Next(current))
        {
            if (current is T found)
            {
                return found;
            }
        }

        return null;
    }

    private static bool HasOccCode(string message)
        => message.Contains("(OC000)", StringComparison.Ordinal) || message.Contains("(OC001)", StringComparison.Ordinal);

    private static bool IsServerUnavailable(PostgresException postgres)
        => postgres.SqlState == "XX000" && postgres.MessageText.Contains("server unavailable", StringComparison.OrdinalIgnoreCase);

    private static Exception? Next(Exception exception)
        => exception is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0] : exception.InnerException;
}
