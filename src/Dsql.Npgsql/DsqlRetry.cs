using System.Data;
using System.Diagnostics;
using Dsql.Npgsql.Internal;
using Npgsql;

namespace Dsql.Npgsql;

/// <summary>
/// Runs a unit of work in its own REPEATABLE READ transaction and retries the whole unit when Aurora DSQL reports an
/// optimistic-concurrency conflict (<c>40001</c>, <c>OC000</c>/<c>OC001</c>) or a transient connection failure: the
/// policy and failure classification of EF Core's <c>DsqlRetryingExecutionStrategy</c>, for ADO.NET and Dapper code.
/// </summary>
/// <remarks>
/// <para>
/// Each attempt opens a connection from <c>dataSource</c>, begins a REPEATABLE READ transaction (the only level DSQL
/// runs), calls <c>work</c> with the open connection (commands on it take part in the transaction; Dapper needs no
/// transaction argument), and commits. A unit may run several times: keep its side effects inside the transaction.
/// </para>
/// <para>
/// A failure while the <c>COMMIT</c> is in flight leaves the outcome unknown: it is never retried but surfaces as
/// <see cref="DsqlCommitOutcomeUnknownException"/>, unless <see cref="DsqlRetryOptions.CommitMarker"/> is set: then a
/// marker row written just before the <c>COMMIT</c> is looked up on a new connection, and the unit ends as applied
/// (found; the attempt's result is returned) or is retried (not found). Permanent failures (constraint violations, syntax errors,
/// <c>54000</c> limits, authentication) and cancellation surface at once.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// await DsqlRetry.ExecuteAsync(dataSource, async (connection, ct) =>
/// {
///     await using var command = new NpgsqlCommand("UPDATE counters SET value = value + 1 WHERE id = 1", connection);
///     await command.ExecuteNonQueryAsync(ct);
/// });
/// </code>
/// </example>
public static class DsqlRetry
{
    /// <summary>Runs <paramref name="work"/> in a transaction, retrying the whole unit on OCC conflicts and transient failures.</summary>
    /// <param name="dataSource">Where connections come from (for example <see cref="DsqlDataSource.Create(string, string?)"/>).</param>
    /// <param name="work">The unit of work; receives an open connection with a transaction begun.</param>
    /// <param name="options">The retry budget; <see cref="DsqlRetryOptions.Default"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the unit and any wait between attempts.</param>
    /// <exception cref="DsqlCommitOutcomeUnknownException">The connection failed while the commit was in flight (and no commit marker could tell the outcome).</exception>
    public static Task ExecuteAsync(
        NpgsqlDataSource dataSource,
        Func<NpgsqlConnection, CancellationToken, Task> work,
        DsqlRetryOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return ExecuteAsync(
            dataSource,
            async (connection, ct) =>
            {
                await work(connection, ct).ConfigureAwait(false);
                return true;
            },
            options,
            cancellationToken);
    }

    /// <summary>Runs <paramref name="work"/> in a transaction and returns its result, retrying the whole unit on OCC conflicts and transient failures.</summary>
    /// <typeparam name="TResult">The result type.</typeparam>
    /// <param name="dataSource">Where connections come from.</param>
    /// <param name="work">The unit of work; receives an open connection with a transaction begun.</param>
    /// <param name="options">The retry budget; <see cref="DsqlRetryOptions.Default"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the unit and any wait between attempts.</param>
    /// <returns>The result of the attempt that committed.</returns>
    /// <exception cref="DsqlCommitOutcomeUnknownException">The connection failed while the commit was in flight (and no commit marker could tell the outcome).</exception>
    public static async Task<TResult> ExecuteAsync<TResult>(
        NpgsqlDataSource dataSource,
        Func<NpgsqlConnection, CancellationToken, Task<TResult>> work,
        DsqlRetryOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options = Validated(dataSource, work, options);
        var unit = MarkedUnit<TResult>.For(options);
        var clock = Stopwatch.StartNew();
        for (var retry = 0; ; retry++)
        {
            try
            {
                return await AttemptAsync(dataSource, work, unit, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ShouldRetry(ex, options, retry, clock.Elapsed))
            {
                await Task.Delay(options.NextDelay(retry), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> in a transaction, retrying the whole unit on OCC conflicts and transient failures (blocking).</summary>
    /// <param name="dataSource">Where connections come from.</param>
    /// <param name="work">The unit of work; receives an open connection with a transaction begun.</param>
    /// <param name="options">The retry budget; <see cref="DsqlRetryOptions.Default"/> when <see langword="null"/>.</param>
    /// <exception cref="DsqlCommitOutcomeUnknownException">The connection failed while the commit was in flight (and no commit marker could tell the outcome).</exception>
    public static void Execute(NpgsqlDataSource dataSource, Action<NpgsqlConnection> work, DsqlRetryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        Execute(
            dataSource,
            connection =>
            {
                work(connection);
                return true;
            },
            options);
    }

    /// <summary>Runs <paramref name="work"/> in a transaction and returns its result, retrying the whole unit on OCC conflicts and transient failures (blocking).</summary>
    /// <typeparam name="TResult">The result type.</typeparam>
    /// <param name="dataSource">Where connections come from.</param>
    /// <param name="work">The unit of work; receives an open connection with a transaction begun.</param>
    /// <param name="options">The retry budget; <see cref="DsqlRetryOptions.Default"/> when <see langword="null"/>.</param>
    /// <returns>The result of the attempt that committed.</returns>
    /// <exception cref="DsqlCommitOutcomeUnknownException">The connection failed while the commit was in flight (and no commit marker could tell the outcome).</exception>
    public static TResult Execute<TResult>(NpgsqlDataSource dataSource, Func<NpgsqlConnection, TResult> work, DsqlRetryOptions? options = null)
    {
        options = Validated(dataSource, work, options);
        var unit = MarkedUnit<TResult>.For(options);
        var clock = Stopwatch.StartNew();
        for (var retry = 0; ; retry++)
        {
            try
            {
                return Attempt(dataSource, work, unit);
            }
            catch (Exception ex) when (ShouldRetry(ex, options, retry, clock.Elapsed))
            {
                Thread.Sleep(options.NextDelay(retry));
            }
        }
    }

    private static async Task<TResult> AttemptAsync<TResult>(
        NpgsqlDataSource dataSource, Func<NpgsqlConnection, CancellationToken, Task<TResult>> work, MarkedUnit<TResult>? unit, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            if (unit is not null)
            {
                await DsqlCommitMarkerStore.EnsureTableAsync(connection, unit.Marker, cancellationToken).ConfigureAwait(false);
            }

            var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                var result = await work(connection, cancellationToken).ConfigureAwait(false);
                if (unit is not null
                    && !await DsqlCommitMarkerStore.TryInsertAsync(connection, transaction, unit.Marker, unit.Id, cancellationToken).ConfigureAwait(false))
                {
                    return unit.AlreadyApplied(result);
                }

                try
                {
                    await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (DsqlFailureClassifier.IsAmbiguousCommitFailure(ex))
                {
                    if (unit is null)
                    {
                        throw new DsqlCommitOutcomeUnknownException(ex);
                    }

                    unit.Pending = result;
                    if (await DsqlCommitMarkerStore.VerifyAsync(dataSource.OpenConnectionAsync, unit.Marker, unit.Id, unit.Retry, ex, cancellationToken).ConfigureAwait(false))
                    {
                        return result;
                    }

                    throw; // not committed: a transient failure like any other
                }

                return result;
            }
        }
    }

    private static TResult Attempt<TResult>(NpgsqlDataSource dataSource, Func<NpgsqlConnection, TResult> work, MarkedUnit<TResult>? unit)
    {
        using var connection = dataSource.OpenConnection();
        if (unit is not null)
        {
            DsqlCommitMarkerStore.EnsureTable(connection, unit.Marker);
        }

        using var transaction = connection.BeginTransaction(IsolationLevel.RepeatableRead);
        var result = work(connection);
        if (unit is not null && !DsqlCommitMarkerStore.TryInsert(connection, transaction, unit.Marker, unit.Id))
        {
            return unit.AlreadyApplied(result);
        }

        try
        {
            transaction.Commit();
        }
        catch (Exception ex) when (DsqlFailureClassifier.IsAmbiguousCommitFailure(ex))
        {
            if (unit is null)
            {
                throw new DsqlCommitOutcomeUnknownException(ex);
            }

            unit.Pending = result;
            if (DsqlCommitMarkerStore.Verify(dataSource.OpenConnection, unit.Marker, unit.Id, unit.Retry, ex))
            {
                return result;
            }

            throw; // not committed: a transient failure like any other
        }

        return result;
    }

    private static DsqlRetryOptions Validated(NpgsqlDataSource dataSource, Delegate work, DsqlRetryOptions? options)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(work);
        return (options ?? DsqlRetryOptions.Default).Validated();
    }

    // Before the COMMIT, nothing has been applied: a conflict, a transient failure or even "server unavailable" is safe
    // to retry. A commit whose outcome is unknown arrives here as DsqlCommitOutcomeUnknownException and is never retried.
    private static bool ShouldRetry(Exception exception, DsqlRetryOptions options, int retriesDone, TimeSpan elapsed)
        => exception is not OperationCanceledException
            && DsqlFailureClassifier.Find<DsqlCommitOutcomeUnknownException>(exception) is null
            && DsqlFailureClassifier.Classify(exception) != DsqlFailure.Permanent
            && options.MayRetry(retriesDone, elapsed);

    // A unit with a commit marker: one marker id for all its attempts, and the result of an attempt whose COMMIT answer
    // was lost, returned if a later attempt finds that the lost COMMIT did land after all.
    private sealed class MarkedUnit<TResult>(DsqlCommitMarkerOptions marker, DsqlRetryOptions retry)
    {
        private bool _hasPending;
        private TResult _pending = default!;

        public DsqlCommitMarkerOptions Marker { get; } = marker;
        public DsqlRetryOptions Retry { get; } = retry;
        public Guid Id { get; } = Guid.NewGuid();

        public TResult Pending
        {
            set
            {
                _pending = value;
                _hasPending = true;
            }
        }

        public static MarkedUnit<TResult>? For(DsqlRetryOptions options)
            => options.CommitMarker is { } marker ? new MarkedUnit<TResult>(marker, options) : null;

        // The marker is already there: an earlier attempt committed (its COMMIT landed after the look-up said it had not).
        public TResult AlreadyApplied(TResult current) => _hasPending ? _pending : current;
    }
}
