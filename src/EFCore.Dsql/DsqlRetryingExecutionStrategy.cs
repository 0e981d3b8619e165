using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Dsql.Npgsql;
using Dsql.Npgsql.Internal;
using Microsoft.EntityFrameworkCore.Dsql.Diagnostics.Internal;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

// ReSharper disable once CheckNamespace
namespace Microsoft.EntityFrameworkCore;

/// <summary>
/// An <see cref="IExecutionStrategy"/> for Aurora DSQL: retries a whole unit of work when DSQL reports an
/// optimistic-concurrency conflict (SQLSTATE <c>40001</c>, <c>OC000</c>/<c>OC001</c> anywhere in the exception chain)
/// or a transient connection failure, waiting a full-jitter exponential backoff measured in milliseconds, for up to
/// 60 seconds (with a count as a backstop).
/// </summary>
/// <remarks>
/// <para>
/// This is the default strategy of <c>UseAuroraDsql</c>. It keeps EF Core's semantics: operations nested inside an
/// executing strategy run once (the outer one retries), a strategy refuses to start inside a transaction the
/// application began itself (wrap the whole unit, including <c>BeginTransaction</c>, in
/// <c>Database.CreateExecutionStrategy().Execute(...)</c>).
/// </para>
/// <para>
/// A failure while a <c>COMMIT</c> (or an autocommit write such as a one-statement <c>SaveChanges</c>) was in flight
/// leaves the outcome unknown. Such a unit is never re-run blindly: with a <c>verifySucceeded</c> delegate the
/// strategy asks it and retries only when the unit did not take effect; without one it throws
/// <see cref="DsqlCommitOutcomeUnknownException"/>, unless commit markers are on
/// (<c>UseAuroraDsql(…, o => o.VerifyCommitsWithMarker())</c>): then the transaction looks its marker up and either
/// reports the commit as done or fails with a transient error this strategy retries.
/// </para>
/// <para>
/// Never retried: authentication failures, syntax errors, constraint violations, <c>54000</c> (row or size limits),
/// <c>0A000</c> (unsupported by DSQL), <c>53200</c> (query memory), cancellations.
/// The backoff runs in a Polly v8 <see cref="ResiliencePipeline"/>; each retry is logged with
/// <see cref="Diagnostics.DsqlEventId.ExecutionStrategyRetrying"/>.
/// </para>
/// </remarks>
public class DsqlRetryingExecutionStrategy : ExecutionStrategy
{
    /// <summary>The default limit on retries: 200, a backstop behind the time budget (<see cref="DsqlRetryOptions.DefaultMaxRetryCount"/>).</summary>
    public new const int DefaultMaxRetryCount = DsqlRetryOptions.DefaultMaxRetryCount;

    /// <summary>The default time budget: no retry starts 60 seconds after the first attempt began.</summary>
    public static readonly TimeSpan DefaultMaxRetryDuration = DsqlRetryOptions.DefaultMaxRetryDuration;

    /// <summary>The default base delay: 5 ms (the first retry waits between 0 and 5 ms, the next up to 10 ms, and so on).</summary>
    public static readonly TimeSpan DefaultBaseDelay = DsqlRetryOptions.DefaultBaseDelay;

    /// <summary>The default cap on a single delay: 100 ms.</summary>
    public static readonly new TimeSpan DefaultMaxDelay = DsqlRetryOptions.DefaultMaxDelay;

    private static readonly ResiliencePropertyKey<RetryState> StateKey = new("EFCore.Dsql.RetryState");

    // One pipeline per application logger factory (for Polly's telemetry): the retry decision and the delay come from
    // the strategy in the resilience context, so no setting of the strategy is part of the key.
    private static readonly ConcurrentDictionary<PipelineKey, ResiliencePipeline> Pipelines = new();

    private readonly FrozenSet<string> _additionalSqlStates;
    private readonly ResiliencePipeline _pipeline;

    /// <summary>Creates a strategy with the default settings.</summary>
    /// <param name="context">The context on which the operations will be invoked.</param>
    public DsqlRetryingExecutionStrategy(DbContext context)
        : this(context, DefaultMaxRetryCount)
    {
    }

    /// <summary>Creates a strategy with the default settings.</summary>
    /// <param name="dependencies">Parameter object containing service dependencies.</param>
    public DsqlRetryingExecutionStrategy(ExecutionStrategyDependencies dependencies)
        : this(dependencies, DefaultMaxRetryCount)
    {
    }

    /// <summary>Creates a strategy that retries at most <paramref name="maxRetryCount"/> times.</summary>
    /// <param name="context">The context on which the operations will be invoked.</param>
    /// <param name="maxRetryCount">The maximum number of retries.</param>
    public DsqlRetryingExecutionStrategy(DbContext context, int maxRetryCount)
        : this(context, maxRetryCount, DefaultBaseDelay, DefaultMaxDelay, null)
    {
    }

    /// <summary>Creates a strategy that retries at most <paramref name="maxRetryCount"/> times.</summary>
    /// <param name="dependencies">Parameter object containing service dependencies.</param>
    /// <param name="maxRetryCount">The maximum number of retries.</param>
    public DsqlRetryingExecutionStrategy(ExecutionStrategyDependencies dependencies, int maxRetryCount)
        : this(dependencies, maxRetryCount, DefaultBaseDelay, DefaultMaxDelay, null)
    {
    }

    /// <summary>Creates a strategy with explicit settings.</summary>
    /// <param name="context">The context on which the operations will be invoked.</param>
    /// <param name="maxRetryCount">The maximum number of retries (0 disables retrying).</param>
    /// <param name="baseDelay">The base of the exponential backoff; retry <c>n</c> waits a random time between 0 and <c>min(maxDelay, baseDelay × 2^n)</c>.</param>
    /// <param name="maxDelay">The cap on a single delay.</param>
    /// <param name="errorCodesToAdd">More SQLSTATEs to retry, on top of the built-in list.</param>
    public DsqlRetryingExecutionStrategy(
        DbContext context, int maxRetryCount, TimeSpan baseDelay, TimeSpan maxDelay, IEnumerable<string>? errorCodesToAdd)
        : this(context.GetService<ExecutionStrategyDependencies>(), maxRetryCount, baseDelay, maxDelay, errorCodesToAdd)
    {
    }

    /// <summary>Creates a strategy with explicit settings.</summary>
    /// <param name="dependencies">Parameter object containing service dependencies.</param>
    /// <param name="maxRetryCount">The maximum number of retries (0 disables retrying).</param>
    /// <param name="baseDelay">The base of the exponential backoff; retry <c>n</c> waits a random time between 0 and <c>min(maxDelay, baseDelay × 2^n)</c>.</param>
    /// <param name="maxDelay">The cap on a single delay.</param>
    /// <param name="errorCodesToAdd">More SQLSTATEs to retry, on top of the built-in list.</param>
    public DsqlRetryingExecutionStrategy(
        ExecutionStrategyDependencies dependencies, int maxRetryCount, TimeSpan baseDelay, TimeSpan maxDelay, IEnumerable<string>? errorCodesToAdd)
        : this(
            dependencies,
            new DsqlRetryOptions { MaxRetryCount = maxRetryCount, BaseDelay = baseDelay, MaxDelay = maxDelay },
            errorCodesToAdd)
    {
    }

    /// <summary>Creates a strategy with a retry budget shared with <see cref="DsqlRetry"/>.</summary>
    /// <param name="dependencies">Parameter object containing service dependencies.</param>
    /// <param name="options">The retry budget and backoff.</param>
    /// <param name="errorCodesToAdd">More SQLSTATEs to retry, on top of the built-in list.</param>
    public DsqlRetryingExecutionStrategy(ExecutionStrategyDependencies dependencies, DsqlRetryOptions options, IEnumerable<string>? errorCodesToAdd)
        : base(dependencies, Validated(options).MaxRetryCount, options.MaxDelay)
    {
        Options = options;
        BaseDelay = options.BaseDelay;
        _additionalSqlStates = (errorCodesToAdd ?? []).ToFrozenSet(StringComparer.Ordinal);
        _pipeline = Pipelines.GetOrAdd(new PipelineKey(ApplicationLoggerFactory(dependencies)), BuildPipeline);
    }

    /// <summary>The retry budget and backoff.</summary>
    public virtual DsqlRetryOptions Options { get; }

    /// <summary>The base of the exponential backoff.</summary>
    public virtual TimeSpan BaseDelay { get; }

    /// <summary>No retry starts once this much time has passed since the first attempt began.</summary>
    public virtual TimeSpan MaxRetryDuration => Options.MaxRetryDuration;

    /// <summary>The SQLSTATEs retried on top of the built-in list.</summary>
    public virtual IReadOnlySet<string> AdditionalErrorCodes => _additionalSqlStates;

    /// <inheritdoc />
    public override TResult Execute<TState, TResult>(
        TState state,
        Func<DbContext, TState, TResult> operation,
        Func<DbContext, TState, ExecutionResult<TResult>>? verifySucceeded)
    {
        ArgumentNullException.ThrowIfNull(operation);
        using var markers = EnterCommitMarkerScope();
        if (Current is not null)
        {
            return operation(Dependencies.CurrentContext.Context, state);
        }

        OnFirstExecution();
        var retryState = new RetryState(this, verifySucceeded is not null);
        try
        {
            return Attempt(state, operation, verifySucceeded, retryState);
        }
        catch (Exception ex) when (!retryState.Stop && ShouldHandle(ex, retryState))
        {
            retryState.SetReplay(ex);
        }

        var context = ResilienceContextPool.Shared.Get();
        context.Properties.Set(StateKey, retryState);
        try
        {
            return _pipeline.Execute(
                static (_, s) =>
                {
                    if (s.RetryState.TakeReplay() is { } replay)
                    {
                        ExceptionDispatchInfo.Throw(replay); // keeps the original stack trace
                    }

                    return s.Strategy.Attempt(s.State, s.Operation, s.Verify, s.RetryState);
                },
                context,
                (Strategy: this, State: state, Operation: operation, Verify: verifySucceeded, RetryState: retryState));
        }
        catch (Exception ex) when (retryState.BudgetSpent)
        {
            throw RetryLimitExceeded(ex, retryState);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <inheritdoc />
    public override async Task<TResult> ExecuteAsync<TState, TResult>(
        TState state,
        Func<DbContext, TState, CancellationToken, Task<TResult>> operation,
        Func<DbContext, TState, CancellationToken, Task<ExecutionResult<TResult>>>? verifySucceeded,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        using var markers = EnterCommitMarkerScope();
        if (Current is not null)
        {
            return await operation(Dependencies.CurrentContext.Context, state, cancellationToken).ConfigureAwait(false);
        }

        OnFirstExecution();

        // Fast path: the first attempt runs without Polly, so a unit that succeeds (the common case) pays for nothing more.
        var retryState = new RetryState(this, verifySucceeded is not null);
        try
        {
            return await AttemptAsync(state, operation, verifySucceeded, retryState, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!retryState.Stop && ShouldHandle(ex, retryState))
        {
            retryState.SetReplay(ex);
        }

        // A retryable failure: Polly takes over. Its first attempt replays that failure (already counted), so its backoff
        // and logging apply from the first retry on.
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(StateKey, retryState);
        try
        {
            return await _pipeline.ExecuteAsync(
                static (ctx, s) => s.RetryState.TakeReplay() is { } replay
                    ? ValueTask.FromException<TResult>(replay)
                    : s.Strategy.AttemptAsync(s.State, s.Operation, s.Verify, s.RetryState, ctx.CancellationToken),
                context,
                (Strategy: this, State: state, Operation: operation, Verify: verifySucceeded, RetryState: retryState)).ConfigureAwait(false);
        }
        catch (Exception ex) when (retryState.BudgetSpent)
        {
            throw RetryLimitExceeded(ex, retryState);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Whether <paramref name="exception"/> (or anything it wraps) is a failure this strategy retries.</summary>
    /// <param name="exception">The failure.</param>
    protected override bool ShouldRetryOn(Exception exception)
        => DsqlFailureClassifier.Classify(exception, _additionalSqlStates) == DsqlFailure.Retryable;

    /// <summary>Whether a <c>verifySucceeded</c> delegate should be asked about <paramref name="exception"/>.</summary>
    /// <param name="exception">The failure.</param>
    protected override bool ShouldVerifySuccessOn(Exception exception)
        => DsqlFailureClassifier.Classify(exception, _additionalSqlStates) != DsqlFailure.Permanent;

    /// <summary>The full-jitter delay before the next retry.</summary>
    /// <param name="lastException">The failure of the last attempt.</param>
    protected override TimeSpan? GetNextDelay(Exception lastException)
        => DsqlRetryOptions.FullJitter(ExceptionsEncountered.Count - 1, BaseDelay, MaxRetryDelay, Random.Shared.NextDouble());

    /// <summary>
    /// Full-jitter backoff: a uniformly random delay between zero and <c>min(maxDelay, baseDelay × 2^retry)</c>.
    /// Spreading competing writers over the whole window lets most of them commit on their next try.
    /// </summary>
    /// <param name="retry">The zero-based retry number.</param>
    /// <param name="baseDelay">The base delay.</param>
    /// <param name="maxDelay">The cap.</param>
    /// <param name="random">A uniform random number in [0, 1).</param>
    internal static TimeSpan FullJitter(int retry, TimeSpan baseDelay, TimeSpan maxDelay, double random)
        => DsqlRetryOptions.FullJitter(retry, baseDelay, maxDelay, random);

    // The sync attempt is the async one run with delegates that complete synchronously: it never waits on anything.
    private TResult Attempt<TState, TResult>(
        TState state,
        Func<DbContext, TState, TResult> operation,
        Func<DbContext, TState, ExecutionResult<TResult>>? verifySucceeded,
        RetryState retryState)
    {
        var attempt = AttemptCore(
            (State: state, Operation: operation, Verify: verifySucceeded),
            static (context, s, _) => new ValueTask<TResult>(s.Operation(context, s.State)),
            verifySucceeded is null ? null : static (context, s, _) => new ValueTask<ExecutionResult<TResult>>(s.Verify!(context, s.State)),
            retryState,
            CancellationToken.None);
        Debug.Assert(attempt.IsCompleted, "a synchronous attempt completes synchronously");
        return attempt.GetAwaiter().GetResult();
    }

    private ValueTask<TResult> AttemptAsync<TState, TResult>(
        TState state,
        Func<DbContext, TState, CancellationToken, Task<TResult>> operation,
        Func<DbContext, TState, CancellationToken, Task<ExecutionResult<TResult>>>? verifySucceeded,
        RetryState retryState,
        CancellationToken cancellationToken)
        => AttemptCore(
            (State: state, Operation: operation, Verify: verifySucceeded),
            static (context, s, ct) => new ValueTask<TResult>(s.Operation(context, s.State, ct)),
            verifySucceeded is null ? null : static (context, s, ct) => new ValueTask<ExecutionResult<TResult>>(s.Verify!(context, s.State, ct)),
            retryState,
            cancellationToken);

    private async ValueTask<TResult> AttemptCore<TState, TResult>(
        TState state,
        Func<DbContext, TState, CancellationToken, ValueTask<TResult>> operation,
        Func<DbContext, TState, CancellationToken, ValueTask<ExecutionResult<TResult>>>? verifySucceeded,
        RetryState retryState,
        CancellationToken cancellationToken)
    {
        var context = Dependencies.CurrentContext.Context;
        DsqlCommitMarkerUnit.Current?.StartAttempt();
        try
        {
            Current = this;
            return await operation(context, state, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (DsqlRetryTelemetry.Observe(ex, DsqlFailureClassifier.Classify(ex, _additionalSqlStates)))
        {
            throw;
        }
        catch (Exception ex) when (verifySucceeded is not null && ShouldVerifySuccessOn(ex))
        {
            Current = null;
            ExecutionResult<TResult> verified;
            try
            {
                Current = this;
                verified = await verifySucceeded(context, state, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception verifyFailure)
            {
                // We cannot tell whether the unit took effect: surface the failure instead of risking a double apply.
                retryState.Stop = true;
                throw new InvalidOperationException(DsqlStrings.VerificationFailed(DsqlFailureClassifier.Describe(ex)), new AggregateException(ex, verifyFailure));
            }

            if (verified.IsSuccessful)
            {
                return verified.Result;
            }

            throw;
        }
        catch (Exception ex) when (verifySucceeded is null && OutcomeUnknown(ex) is { } unknown)
        {
            retryState.Stop = true;
            DsqlRetryTelemetry.GaveUp(ex, "outcome_unknown");
            throw unknown;
        }
        finally
        {
            Current = null;
        }
    }

    // With commit markers (VerifyCommitsWithMarker), the outermost execution is a unit whose transactions keep their
    // marker ids from one attempt to the next, and a one-statement SaveChanges runs in a transaction (EF sends none for
    // it) so that its marker has one to go in.
    private CommitMarkerScope EnterCommitMarkerScope()
    {
        if (Dependencies.Options.FindExtension<DsqlOptionsExtension>()?.Retry.Options.CommitMarker is null)
        {
            return default;
        }

        var database = Dependencies.CurrentContext.Context.Database;
        var forced = database.AutoTransactionBehavior == AutoTransactionBehavior.WhenNeeded;
        if (forced)
        {
            database.AutoTransactionBehavior = AutoTransactionBehavior.Always;
        }

        var outermost = Current is null;
        return new CommitMarkerScope(forced ? database : null, outermost, outermost ? DsqlCommitMarkerUnit.Begin() : null);
    }

    private readonly struct CommitMarkerScope(DatabaseFacade? forcedDatabase, bool unitBegun, DsqlCommitMarkerUnit? previousUnit) : IDisposable
    {
        public void Dispose()
        {
            if (forcedDatabase is not null)
            {
                forcedDatabase.AutoTransactionBehavior = AutoTransactionBehavior.WhenNeeded;
            }

            if (unitBegun)
            {
                DsqlCommitMarkerUnit.End(previousUnit);
            }
        }
    }

    // A commit whose outcome is unknown surfaces as DsqlCommitOutcomeUnknownException at the top, even when EF wrapped it
    // (SaveChanges throws DbUpdateException): that is the one exception the documentation tells users to catch.
    private static DsqlCommitOutcomeUnknownException? OutcomeUnknown(Exception exception)
        => exception switch
        {
            DsqlCommitOutcomeUnknownException => null, // rethrown as it is
            _ when DsqlFailureClassifier.Find<DsqlCommitOutcomeUnknownException>(exception) is { } inner
                => new DsqlCommitOutcomeUnknownException(inner.Message, exception),
            _ => null,
        };

    private bool ShouldHandle(Exception exception, RetryState retryState)
    {
        if (retryState.Stop || !IsRetryable(exception, retryState.HasVerifier))
        {
            return false;
        }

        if (!Options.MayRetry(retryState.RetryableFailures, retryState.Elapsed))
        {
            retryState.BudgetSpent = true;
            return false;
        }

        retryState.RetryableFailures++;
        ExceptionsEncountered.Add(exception);
        return true;
    }

    private bool IsRetryable(Exception exception, bool hasVerifier)
        => exception is not OperationCanceledException && DsqlFailureClassifier.Classify(exception, _additionalSqlStates) switch
        {
            DsqlFailure.Retryable => true,
            DsqlFailure.OutcomeUnknown => hasVerifier,
            _ => false,
        };

    private void OnRetrying(Exception exception, int retryNumber, TimeSpan delay)
    {
        DsqlRetryTelemetry.Retrying(Dependencies.Logger, ExceptionsEncountered, exception, retryNumber, MaxRetryCount, delay);
        OnRetry();
    }

    private RetryLimitExceededException RetryLimitExceeded(Exception last, RetryState retryState)
    {
        DsqlRetryTelemetry.GaveUp(last, "retry_limit");
        return new(DsqlStrings.RetryLimitExceeded(
            retryState.RetryableFailures, retryState.Elapsed, DsqlFailureClassifier.Describe(last), GetType().Name, DsqlFailureClassifier.IsConcurrencyConflict(last)), last);
    }

    // Polly's telemetry (its "Polly" meter and logs) goes to the application's logger factory: the one given to
    // UseLoggerFactory, else the one in the application's services. EF's own ILoggerFactory service is scoped, so not a cache key.
    private static ILoggerFactory? ApplicationLoggerFactory(ExecutionStrategyDependencies dependencies)
    {
        var core = dependencies.Options.FindExtension<CoreOptionsExtension>();
        return core?.LoggerFactory ?? core?.ApplicationServiceProvider?.GetService<ILoggerFactory>();
    }

    private static ResiliencePipeline BuildPipeline(PipelineKey key)
    {
        var builder = new ResiliencePipelineBuilder { Name = DsqlRetryTelemetry.Name };
        if (key.LoggerFactory is { } loggerFactory)
        {
            builder.ConfigureTelemetry(loggerFactory);
        }

        return builder
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = int.MaxValue, // the strategy's budget (time, then count) decides in ShouldHandle
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                ShouldHandle = static args => new ValueTask<bool>(
                    args.Outcome.Exception is { } ex
                    && args.Context.Properties.TryGetValue(StateKey, out var s)
                    && (s.TakeCountedReplay() || s.Strategy.ShouldHandle(ex, s))),
                DelayGenerator = static args => new ValueTask<TimeSpan?>(
                    args.Outcome.Exception is { } ex && args.Context.Properties.TryGetValue(StateKey, out var s)
                        ? s.Strategy.GetNextDelay(ex) ?? TimeSpan.Zero
                        : TimeSpan.Zero),
                OnRetry = static args =>
                {
                    if (args.Outcome.Exception is { } ex && args.Context.Properties.TryGetValue(StateKey, out var s))
                    {
                        s.Strategy.OnRetrying(ex, args.AttemptNumber + 1, args.RetryDelay);
                    }

                    return default;
                },
            })
            .Build();
    }

    // The one validation of retry settings, shared with the connector's DsqlRetry and the options builder.
    private static DsqlRetryOptions Validated(DsqlRetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Validated();
    }

    private readonly record struct PipelineKey(ILoggerFactory? LoggerFactory);

    private sealed class RetryState(DsqlRetryingExecutionStrategy strategy, bool hasVerifier)
    {
        private readonly long _started = Stopwatch.GetTimestamp();
        private bool _replayCounted;

        public DsqlRetryingExecutionStrategy Strategy { get; } = strategy;
        public bool HasVerifier { get; } = hasVerifier;
        public bool Stop { get; set; }
        public bool BudgetSpent { get; set; }
        public int RetryableFailures { get; set; }
        public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

        private Exception? _replay;

        // The first attempt's failure (already judged and counted), handed to the pipeline as its first attempt.
        public void SetReplay(Exception failure)
        {
            _replay = failure;
            _replayCounted = true;
        }

        public Exception? TakeReplay()
        {
            var replay = _replay;
            _replay = null;
            return replay;
        }

        // The replayed failure was counted when the first attempt failed; the pipeline must not count it again.
        public bool TakeCountedReplay()
        {
            var counted = _replayCounted;
            _replayCounted = false;
            return counted;
        }
    }
}
