using Npgsql.EntityFrameworkCore.PostgreSQL.Storage.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>
/// Makes <see cref="DsqlRetryingExecutionStrategy"/> the default strategy, with the settings of
/// <c>UseAuroraDsql(..., o => o.EnableRetryOnFailure(...))</c>. A strategy configured explicitly with
/// <c>ExecutionStrategy(...)</c> still wins, as in every EF provider, unless it is another <em>retrying</em> strategy:
/// Npgsql's <c>EnableRetryOnFailure()</c> (also what Aspire's <c>EnrichNpgsqlDbContext</c> adds) backs off in seconds,
/// does not know DSQL's OCC codes and retries a lost COMMIT blindly, so it is refused with the fix in the message: when
/// the options are validated (<see cref="GuardWithoutContext"/>), and, for a factory that cannot be asked without a
/// context, when the strategy is created.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice. Scoped.</remarks>
public class DsqlExecutionStrategyFactory(ExecutionStrategyDependencies dependencies) : RelationalExecutionStrategyFactory(dependencies)
{
    /// <inheritdoc />
    public override IExecutionStrategy Create() => Guard(base.Create());

    /// <summary>
    /// Refuses a strategy that retries but is not a <see cref="DsqlRetryingExecutionStrategy"/>. Non-retrying strategies
    /// (<c>NonRetryingExecutionStrategy</c>, or DSQL retries disabled) are the application's choice and pass.
    /// </summary>
    /// <param name="strategy">The strategy the options produce.</param>
    /// <returns><paramref name="strategy"/>.</returns>
    /// <exception cref="InvalidOperationException">Another retrying strategy replaced the DSQL one.</exception>
    public static IExecutionStrategy Guard(IExecutionStrategy strategy)
        => strategy is { RetriesOnFailure: true } and not DsqlRetryingExecutionStrategy
            ? throw new InvalidOperationException(DsqlStrings.ForeignRetryingStrategy(strategy.GetType().Name))
            : strategy;

    /// <summary>
    /// <see cref="Guard"/> for the strategy <paramref name="strategyFactory"/> makes, asked while the options are validated,
    /// without a context: strategy constructors only keep their dependencies, and a factory that needs the context (and
    /// throws) is left to the check in <see cref="Create"/>.
    /// </summary>
    /// <param name="strategyFactory">The factory set with <c>ExecutionStrategy(...)</c> or <c>EnableRetryOnFailure()</c>.</param>
    /// <param name="options">The options being validated.</param>
    /// <exception cref="InvalidOperationException">Another retrying strategy replaced the DSQL one.</exception>
    internal static void GuardWithoutContext(Func<ExecutionStrategyDependencies, IExecutionStrategy> strategyFactory, IDbContextOptions options)
    {
        IExecutionStrategy strategy;
        try
        {
            strategy = strategyFactory(new ExecutionStrategyDependencies(NoContextYet.Instance, options, null!));
        }
        catch (Exception)
        {
            return;
        }

        Guard(strategy);
    }

    /// <inheritdoc />
    protected override IExecutionStrategy CreateDefaultStrategy(ExecutionStrategyDependencies dependencies)
        => dependencies.Options.FindExtension<DsqlOptionsExtension>()?.Retry is { Enabled: true } retry
            ? new DsqlRetryingExecutionStrategy(dependencies, retry.Options, retry.ErrorCodesToAdd)
            : new NpgsqlExecutionStrategy(dependencies);
}

/// <summary>The current context while options are validated: there is none yet.</summary>
internal sealed class NoContextYet : ICurrentDbContext
{
    public static readonly NoContextYet Instance = new();

    public DbContext Context => throw new InvalidOperationException("No DbContext exists while its options are validated.");
}
