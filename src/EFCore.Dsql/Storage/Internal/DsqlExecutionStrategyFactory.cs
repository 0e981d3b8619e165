using Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql.EntityFrameworkCore.PostgreSQL.Storage.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>
/// Makes <see cref="DsqlRetryingExecutionStrategy"/> the default strategy, with the settings of
/// <c>UseAuroraDsql(..., o => o.EnableRetryOnFailure(...))</c>. A strategy configured explicitly with
/// <c>ExecutionStrategy(...)</c> still wins, as in every EF provider.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice. Scoped.</remarks>
public class DsqlExecutionStrategyFactory(ExecutionStrategyDependencies dependencies) : RelationalExecutionStrategyFactory(dependencies)
{
    /// <inheritdoc />
    protected override IExecutionStrategy CreateDefaultStrategy(ExecutionStrategyDependencies dependencies)
        => dependencies.Options.FindExtension<DsqlOptionsExtension>()?.Retry is { Enabled: true } retry
            ? new DsqlRetryingExecutionStrategy(dependencies, retry.MaxRetryCount, retry.BaseDelay, retry.MaxDelay, retry.ErrorCodesToAdd)
            : new NpgsqlExecutionStrategy(dependencies);
}
