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
        DataSourceEvicted,
    }

    /// <summary>
    /// <see cref="DsqlRetryingExecutionStrategy"/> is about to retry an operation after a failure DSQL reported as
    /// retryable (an optimistic-concurrency conflict or a transient connection failure). The message carries the
    /// SQLSTATE, the retry number and the delay; never the IAM token.
    /// </summary>
    /// <remarks>Category <see cref="DbLoggerCategory.Infrastructure"/>, level <see cref="LogLevel.Information"/>.</remarks>
    public static readonly EventId ExecutionStrategyRetrying =
        new((int)Id.ExecutionStrategyRetrying, DbLoggerCategory.Infrastructure.Name + "." + nameof(Id.ExecutionStrategyRetrying));

    /// <summary>
    /// More distinct DSQL connection options (each with its own connection pool) were used than one EF service provider
    /// keeps (32 by default), and the least recently used data source was evicted. The usual cause is AWS credentials (or
    /// other connection settings) built per context instance instead of once and shared. The message names the role, host
    /// and region of the evicted data source; never a credential.
    /// </summary>
    /// <remarks>Category <see cref="DbLoggerCategory.Infrastructure"/>, level <see cref="LogLevel.Warning"/>.</remarks>
    public static readonly EventId DataSourceEvicted =
        new((int)Id.DataSourceEvicted, DbLoggerCategory.Infrastructure.Name + "." + nameof(Id.DataSourceEvicted));
}
