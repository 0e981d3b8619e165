namespace Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;

/// <summary>
/// The retry settings of a context, one group of its <see cref="DsqlOptionsExtension"/>: whether
/// <see cref="DsqlRetryingExecutionStrategy"/> is the default strategy, and with which limits. Value equality (error
/// codes compared in order), so the group can take part in EF's service-provider key as a whole.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed record DsqlRetrySettings
{
    /// <summary>The defaults: retrying on, with the strategy's default limits.</summary>
    public static DsqlRetrySettings Default { get; } = new();

    /// <summary>Whether <see cref="DsqlRetryingExecutionStrategy"/> is the default strategy (on unless disabled).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The retry limit.</summary>
    public int MaxRetryCount { get; init; } = DsqlRetryingExecutionStrategy.DefaultMaxRetryCount;

    /// <summary>The base delay of the backoff.</summary>
    public TimeSpan BaseDelay { get; init; } = DsqlRetryingExecutionStrategy.DefaultBaseDelay;

    /// <summary>The cap on a single delay.</summary>
    public TimeSpan MaxDelay { get; init; } = DsqlRetryingExecutionStrategy.DefaultMaxDelay;

    /// <summary>Extra SQLSTATEs to retry.</summary>
    public IReadOnlyList<string> ErrorCodesToAdd { get; init; } = [];

    /// <inheritdoc />
    public bool Equals(DsqlRetrySettings? other)
        => other is not null
            && Enabled == other.Enabled
            && MaxRetryCount == other.MaxRetryCount
            && BaseDelay == other.BaseDelay
            && MaxDelay == other.MaxDelay
            && ErrorCodesToAdd.SequenceEqual(other.ErrorCodesToAdd);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Enabled);
        hash.Add(MaxRetryCount);
        hash.Add(BaseDelay);
        hash.Add(MaxDelay);
        foreach (var code in ErrorCodesToAdd)
        {
            hash.Add(code);
        }

        return hash.ToHashCode();
    }
}
