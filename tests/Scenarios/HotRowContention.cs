using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace EFCore.Dsql.Scenarios;

/// <summary>A row many writers increment (key chosen by the test, never generated).</summary>
public sealed class Counter
{
    /// <summary>The key.</summary>
    public long Id { get; set; }

    /// <summary>The count.</summary>
    public long Value { get; set; }
}

/// <summary>What one run of <see cref="HotRowContention.RunAsync{TContext}"/> did.</summary>
/// <param name="Committed">Increments whose unit of work committed.</param>
/// <param name="GaveUp">
/// Times an execution strategy gave up on an increment (<see cref="RetryLimitExceededException"/>): lost work, or, when the
/// run resubmits such increments, work done again.
/// </param>
/// <param name="Elapsed">Wall-clock time of the whole workload.</param>
public readonly record struct HotRowResult(int Committed, int GaveUp, TimeSpan Elapsed)
{
    /// <summary>Goodput: committed units per second.</summary>
    public double CommitsPerSecond => Committed / Elapsed.TotalSeconds;
}

/// <summary>
/// The OCC hot-row workload, one copy for the functional tests (PostgreSQL and Dsql.Local) and the contention benchmark:
/// <c>workers</c> tasks each increment one row <c>increments</c> times, every increment a unit of work run by the
/// context's execution strategy (<c>ExecuteInNewContextAsync</c>): a REPEATABLE READ transaction that reads the row,
/// adds one, saves and commits. Concurrent units conflict (<c>40001</c>; on DSQL <c>OC000</c> at <c>COMMIT</c>) and the
/// strategy retries them; a unit whose strategy gives up is counted, not thrown.
/// </summary>
public static class HotRowContention
{
    /// <summary>Creates (or resets to zero) the counter row <paramref name="counterId"/>.</summary>
    public static async Task SeedAsync<TContext>(IDbContextFactory<TContext> factory, long counterId)
        where TContext : DbContext
    {
        await using var context = await factory.CreateDbContextAsync();
        var counter = await context.Set<Counter>().SingleOrDefaultAsync(c => c.Id == counterId);
        if (counter is null)
        {
            context.Set<Counter>().Add(new Counter { Id = counterId });
        }
        else
        {
            counter.Value = 0;
        }

        await context.SaveChangesAsync();
    }

    /// <summary>Runs the workload against counter <paramref name="counterId"/> (seeded by <see cref="SeedAsync{TContext}"/>).</summary>
    /// <param name="factory">Creates the contexts whose execution strategy runs the units.</param>
    /// <param name="counterId">The row.</param>
    /// <param name="workers">Concurrent writers.</param>
    /// <param name="increments">Units per writer.</param>
    /// <param name="resubmitGivenUp">
    /// Whether a writer submits a unit its strategy gave up on again until it commits, as an application that still owes
    /// the work must: then every unit commits and <see cref="HotRowResult.Elapsed"/> is the time the whole work took.
    /// </param>
    public static async Task<HotRowResult> RunAsync<TContext>(
        IDbContextFactory<TContext> factory, long counterId, int workers, int increments, bool resubmitGivenUp = false)
        where TContext : DbContext
    {
        var committed = 0;
        var gaveUp = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < increments; i++)
            {
                try
                {
                    await factory.ExecuteInNewContextAsync(async (context, ct) =>
                    {
                        await using var transaction = await context.Database.BeginTransactionAsync(ct);
                        var counter = await context.Set<Counter>().SingleAsync(c => c.Id == counterId, ct);
                        counter.Value++;
                        await context.SaveChangesAsync(ct);
                        await transaction.CommitAsync(ct);
                    });
                    Interlocked.Increment(ref committed);
                }
                catch (RetryLimitExceededException)
                {
                    Interlocked.Increment(ref gaveUp);
                    if (resubmitGivenUp)
                    {
                        i--;
                    }
                }
            }
        })));
        return new HotRowResult(committed, gaveUp, clock.Elapsed);
    }

    /// <summary>The counter's value as committed.</summary>
    public static async Task<long> ValueAsync<TContext>(IDbContextFactory<TContext> factory, long counterId)
        where TContext : DbContext
    {
        await using var context = await factory.CreateDbContextAsync();
        return (await context.Set<Counter>().AsNoTracking().SingleAsync(c => c.Id == counterId)).Value;
    }
}
