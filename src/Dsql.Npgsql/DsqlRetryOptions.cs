namespace Dsql.Npgsql;

/// <summary>
/// How long <see cref="DsqlRetry"/> (and EF Core's <c>DsqlRetryingExecutionStrategy</c>) keeps retrying a unit of work
/// that failed with an optimistic-concurrency conflict or a transient connection failure.
/// </summary>
/// <remarks>
/// Retry <c>n</c> (zero-based) waits a uniformly random time between 0 and <c>min(MaxDelay, BaseDelay × 2^n)</c> (full
/// jitter). Retrying stops when <see cref="MaxRetryDuration"/> has passed since the first attempt began, or after
/// <see cref="MaxRetryCount"/> retries, whichever comes first. The budget is measured in time because that is what a
/// caller waits for: a hot row needs many quick retries, an outage a few long ones.
/// </remarks>
public sealed record DsqlRetryOptions
{
    /// <summary>The default limit on retries: 200 (with the default delays about 10 s of waiting; when attempts are slow, the time budget ends retrying first).</summary>
    public const int DefaultMaxRetryCount = 200;

    /// <summary>The default time budget: 60 seconds from the start of the first attempt.</summary>
    public static readonly TimeSpan DefaultMaxRetryDuration = TimeSpan.FromSeconds(60);

    /// <summary>The default base delay: 5 ms (the first retry waits up to 5 ms, the next up to 10 ms, and so on).</summary>
    public static readonly TimeSpan DefaultBaseDelay = TimeSpan.FromMilliseconds(5);

    /// <summary>The default cap on a single delay: 100 ms.</summary>
    public static readonly TimeSpan DefaultMaxDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>The default settings.</summary>
    public static DsqlRetryOptions Default { get; } = new();

    /// <summary>The maximum number of retries (0 disables retrying).</summary>
    public int MaxRetryCount { get; init; } = DefaultMaxRetryCount;

    /// <summary>No retry starts once this much time has passed since the first attempt began.</summary>
    public TimeSpan MaxRetryDuration { get; init; } = DefaultMaxRetryDuration;

    /// <summary>The base of the exponential backoff.</summary>
    public TimeSpan BaseDelay { get; init; } = DefaultBaseDelay;

    /// <summary>The cap on a single delay.</summary>
    public TimeSpan MaxDelay { get; init; } = DefaultMaxDelay;

    /// <summary>
    /// Verifies a unit whose <c>COMMIT</c> answer was lost with a commit marker written in its transaction
    /// (<see cref="DsqlCommitMarkerOptions"/>) instead of throwing <see cref="DsqlCommitOutcomeUnknownException"/>.
    /// <see langword="null"/> (the default): no marker is written and such a unit surfaces as that exception.
    /// </summary>
    public DsqlCommitMarkerOptions? CommitMarker { get; init; }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    internal DsqlRetryOptions Validated()
    {
        if (MaxRetryCount < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetryCount), MaxRetryCount, "The maximum number of retries cannot be negative; use 0 to disable retrying.");
        }

        if (MaxRetryDuration < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetryDuration), MaxRetryDuration, "The retry time budget cannot be negative; use TimeSpan.Zero to disable retrying.");
        }

        if (BaseDelay <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(BaseDelay), BaseDelay, "The base retry delay must be positive.");
        }

        if (MaxDelay < BaseDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDelay), MaxDelay, "The maximum retry delay must be at least the base delay.");
        }

        CommitMarker?.Validated();
        return this;
    }

    /// <summary>Whether one more retry may start after <paramref name="retriesDone"/> retries and <paramref name="elapsed"/> since the first attempt.</summary>
    internal bool MayRetry(int retriesDone, TimeSpan elapsed) => retriesDone < MaxRetryCount && elapsed < MaxRetryDuration;

    /// <summary>The full-jitter delay before retry <paramref name="retry"/> (zero-based).</summary>
    internal TimeSpan NextDelay(int retry) => FullJitter(retry, BaseDelay, MaxDelay, Random.Shared.NextDouble());

    /// <summary>
    /// Full-jitter backoff: a uniformly random delay between zero and <c>min(maxDelay, baseDelay × 2^retry)</c>.
    /// Spreading competing writers over the whole window lets most of them commit on their next try.
    /// </summary>
    internal static TimeSpan FullJitter(int retry, TimeSpan baseDelay, TimeSpan maxDelay, double random)
    {
        var ceiling = Math.Min(maxDelay.TotalMilliseconds, baseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(retry, 30)));
        return TimeSpan.FromMilliseconds(ceiling * random);
    }
}
