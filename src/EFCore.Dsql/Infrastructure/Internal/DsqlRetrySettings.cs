using Dsql.Npgsql;

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

    /// <summary>
    /// The budget (time and count), the backoff and the commit-marker verification, shared with the connector's
    /// <see cref="DsqlRetry"/>; validated when set.
    /// </summary>
    public DsqlRetryOptions Options { get; init; } = DsqlRetryOptions.Default;

    /// <summary>Extra SQLSTATEs to retry.</summary>
    public IReadOnlyList<string> ErrorCodesToAdd { get; init; } = [];

    /// <inheritdoc />
    public bool Equals(DsqlRetrySettings? other)
        => other is not null
            && Enabled == other.Enabled
            && Options == other.Options
            && ErrorCodesToAdd.SequenceEqual(other.ErrorCodesToAdd);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Enabled);
        hash.Add(Options);
        foreach (var code in ErrorCodesToAdd)
        {
            hash.Add(code);
        }

        return hash.ToHashCode();
    }
}
