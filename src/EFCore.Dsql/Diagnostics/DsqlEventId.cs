// ReSharper disable once CheckNamespace
namespace Microsoft.EntityFrameworkCore.Diagnostics;

/// <summary>
/// Event IDs for Aurora DSQL events logged through EF Core's diagnostics (<c>LogTo</c>, <c>ILoggerFactory</c>,
/// <c>ConfigureWarnings</c>).
/// </summary>
/// <remarks>
/// The IDs sit in EF Core's provider range, above the ones <c>Npgsql.EntityFrameworkCore.PostgreSQL</c> uses.
/// </remarks>
public static class DsqlEventId
{
    private const int BaseId = CoreEventId.ProviderBaseId + 9000;

    private enum Id
    {
        ExecutionStrategyRetrying = BaseId,
    }

    /// <summary>
    /// <see cref="DsqlRetryingExecutionStrategy"/> is about to retry an operation after a failure DSQL reported as
    /// retryable (an optimistic-concurrency conflict or a transient connection failure). The message carries the
    /// SQLSTATE, the retry number and the delay; never the IAM token.
    /// </summary>
    /// <remarks>Category <see cref="DbLoggerCategory.Infrastructure"/>, level <see cref="LogLevel.Information"/>.</remarks>
    public static readonly EventId ExecutionStrategyRetrying =
        new((int)Id.ExecutionStrategyRetrying, DbLoggerCategory.Infrastructure.Name + "." + nameof(Id.ExecutionStrategyRetrying));
}
