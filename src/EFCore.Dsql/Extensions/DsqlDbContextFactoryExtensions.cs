// ReSharper disable once CheckNamespace
namespace Microsoft.EntityFrameworkCore;

/// <summary>Runs units of work against Aurora DSQL with a fresh <see cref="DbContext"/> per attempt.</summary>
public static class DsqlDbContextFactoryExtensions
{
    /// <summary>
    /// Runs <paramref name="operation"/> through the context's execution strategy, giving every attempt a new context
    /// from <paramref name="factory"/>, so a retry after an optimistic-concurrency conflict re-reads current data
    /// instead of replaying a stale change tracker. Begin and commit any transaction inside the operation.
    /// </summary>
    /// <param name="factory">The context factory (<c>AddDbContextFactory</c> / <c>AddPooledDbContextFactory</c>).</param>
    /// <param name="operation">The unit of work; runs once per attempt.</param>
    /// <param name="cancellationToken">Cancels the unit and the waits between attempts.</param>
    /// <typeparam name="TContext">The context type.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    /// <returns>The result of the attempt that succeeded.</returns>
    public static Task<TResult> ExecuteInNewContextAsync<TContext, TResult>(
        this IDbContextFactory<TContext> factory,
        Func<TContext, CancellationToken, Task<TResult>> operation,
        CancellationToken cancellationToken = default)
        where TContext : DbContext
        => ExecuteInNewContextAsync(factory, operation, verifySucceeded: null, cancellationToken);

    /// <summary>
    /// Runs <paramref name="operation"/> through the context's execution strategy with a new context per attempt; when
    /// an attempt fails in a way that may have committed anyway (for example a lost connection during <c>COMMIT</c>),
    /// <paramref name="verifySucceeded"/> is asked, in a new context too, whether the unit took effect.
    /// </summary>
    /// <param name="factory">The context factory.</param>
    /// <param name="operation">The unit of work; runs once per attempt.</param>
    /// <param name="verifySucceeded">Returns <see langword="true"/> when the unit did take effect; or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the unit and the waits between attempts.</param>
    /// <typeparam name="TContext">The context type.</typeparam>
    /// <typeparam name="TResult">The result type.</typeparam>
    /// <returns>The result of the attempt that succeeded (the default value when only verification succeeded).</returns>
    public static async Task<TResult> ExecuteInNewContextAsync<TContext, TResult>(
        this IDbContextFactory<TContext> factory,
        Func<TContext, CancellationToken, Task<TResult>> operation,
        Func<TContext, CancellationToken, Task<bool>>? verifySucceeded,
        CancellationToken cancellationToken = default)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(operation);

        // This context only supplies the strategy; it never opens a connection.
        await using var strategyContext = await factory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var strategy = strategyContext.Database.CreateExecutionStrategy();
        var state = (Factory: factory, Operation: operation, Verify: verifySucceeded);

        return await strategy.ExecuteAsync(
            state,
            static async (_, s, ct) =>
            {
                await using var context = await s.Factory.CreateDbContextAsync(ct).ConfigureAwait(false);
                return await s.Operation(context, ct).ConfigureAwait(false);
            },
            verifySucceeded is null
                ? null
                : static async (_, s, ct) =>
                {
                    await using var context = await s.Factory.CreateDbContextAsync(ct).ConfigureAwait(false);
                    return new ExecutionResult<TResult>(await s.Verify!(context, ct).ConfigureAwait(false), default!);
                },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="operation"/> through the context's execution strategy, giving every attempt a new context
    /// from <paramref name="factory"/>.
    /// </summary>
    /// <param name="factory">The context factory.</param>
    /// <param name="operation">The unit of work; runs once per attempt.</param>
    /// <param name="cancellationToken">Cancels the unit and the waits between attempts.</param>
    /// <typeparam name="TContext">The context type.</typeparam>
    public static Task ExecuteInNewContextAsync<TContext>(
        this IDbContextFactory<TContext> factory,
        Func<TContext, CancellationToken, Task> operation,
        CancellationToken cancellationToken = default)
        where TContext : DbContext
    {
        ArgumentNullException.ThrowIfNull(operation);
        return ExecuteInNewContextAsync<TContext, bool>(
            factory,
            async (context, ct) =>
            {
                await operation(context, ct).ConfigureAwait(false);
                return true;
            },
            cancellationToken);
    }
}
