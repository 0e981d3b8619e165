using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Dsql.Local.Backend;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql.EntityFrameworkCore.PostgreSQL;

namespace Dsql.Benchmarks;

/// <summary>
/// Goodput of an OCC-heavy workload: 16 workers each increment one hot row 10 times in REPEATABLE READ transactions
/// (the conflicts DSQL reports as 40001/OC000; PostgreSQL reports 40001 as well) through
/// <c>ExecuteInNewContextAsync</c>. Compares backoff policies on the same server: EF Core's default retrying strategy
/// (exponential from ~1 s, as <c>EnableRetryOnFailure()</c> gives), the AWS connectors' 100 ms doubling to 5 s, and
/// <see cref="DsqlRetryingExecutionStrategy"/>'s full jitter at several base delays. One operation = the whole workload
/// (160 commits); commits per second = 160 / mean time. Workers that give up are counted in <c>GaveUp</c>.
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class EFCoreContentionBenchmarks
{
    private const int Workers = 16;
    private const int IncrementsPerWorker = 10;

    private PostgresInstance? _instance;
    private string _connectionString = "";
    private ServiceProvider? _services;

    [Params("EF default (1 s exponential)", "AWS connectors (100 ms doubling to 5 s)", "DSQL full jitter base 2 ms", "DSQL full jitter base 10 ms", "DSQL full jitter base 50 ms")]
    public string Policy { get; set; } = "";

    /// <summary>Workers that hit the retry limit in the last iteration (reported, not asserted).</summary>
    public static int GaveUp;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_instance, _connectionString) = await BenchDatabase.StartAsync();
        _services = new ServiceCollection()
            .AddPooledDbContextFactory<BenchContext>(b => b.UseAuroraDsql(_connectionString, o =>
            {
                o.Region("us-east-1").Credentials(BenchDatabase.Credentials);
                o.Npgsql(n => n.ExecutionStrategy(Strategy(Policy)));
            }))
            .BuildServiceProvider();
    }

    [IterationSetup]
    public void ResetCounter()
    {
        var factory = _services!.GetRequiredService<IDbContextFactory<BenchContext>>();
        using var context = factory.CreateDbContext();
        context.Database.ExecuteSqlRaw("DELETE FROM bench_counters; INSERT INTO bench_counters VALUES (1, 0)");
        GaveUp = 0;
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        Console.WriteLine($"// {Policy}: workers that gave up in the last iteration: {GaveUp}");
        await _services!.DisposeAsync();
        await _instance!.DisposeAsync();
    }

    [Benchmark]
    public Task HotRowIncrements()
    {
        var factory = _services!.GetRequiredService<IDbContextFactory<BenchContext>>();
        return Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < IncrementsPerWorker; i++)
            {
                try
                {
                    await factory.ExecuteInNewContextAsync(async (context, ct) =>
                    {
                        await using var transaction = await context.Database.BeginTransactionAsync(ct);
                        var counter = await context.Counters.SingleAsync(c => c.Id == 1, ct);
                        counter.Value++;
                        await context.SaveChangesAsync(ct);
                        await transaction.CommitAsync(ct);
                    });
                }
                catch (RetryLimitExceededException)
                {
                    Interlocked.Increment(ref GaveUp);
                }
            }
        })));
    }

    private static Func<ExecutionStrategyDependencies, IExecutionStrategy> Strategy(string policy) => policy switch
    {
        "EF default (1 s exponential)" => d => new NpgsqlRetryingExecutionStrategy(d),
        "AWS connectors (100 ms doubling to 5 s)" => d => new FixedExponentialStrategy(d),
        "DSQL full jitter base 2 ms" => d => new DsqlRetryingExecutionStrategy(d, 10, TimeSpan.FromMilliseconds(2), TimeSpan.FromSeconds(1), null),
        "DSQL full jitter base 10 ms" => d => new DsqlRetryingExecutionStrategy(d, 10, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(1), null),
        "DSQL full jitter base 50 ms" => d => new DsqlRetryingExecutionStrategy(d, 10, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(1), null),
        _ => throw new ArgumentOutOfRangeException(nameof(policy)),
    };

    /// <summary>The AWS connectors' policy: 100 ms doubling to 5 s, same retryable errors as the DSQL strategy.</summary>
    private sealed class FixedExponentialStrategy(ExecutionStrategyDependencies dependencies)
        : DsqlRetryingExecutionStrategy(dependencies, 10, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), null)
    {
        protected override TimeSpan? GetNextDelay(Exception lastException)
        {
            var retry = ExceptionsEncountered.Count - 1;
            return retry < MaxRetryCount ? TimeSpan.FromMilliseconds(Math.Min(5000, 100 * Math.Pow(2, retry))) : null;
        }
    }
}
