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
/// <c>ExecuteInNewContextAsync</c>. Compares, in one run on the same server: <c>UseAuroraDsql</c>'s default
/// <see cref="DsqlRetryingExecutionStrategy"/> (full jitter 10 ms to 1 s, 60 s budget), EF Core's default retrying
/// strategy (Npgsql's <c>EnableRetryOnFailure()</c>: 6 retries, exponential from ~1 s), and the AWS connectors' OCC
/// policy (3 retries, 100 ms doubling to 5 s). One operation = the whole workload (160 commits); commits per second =
/// 160 / mean time. Units that give up are counted in <c>GaveUp</c> (they lower goodput: their increment is lost).
/// </summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class EFCoreContentionBenchmarks
{
    private const int Workers = 16;
    private const int IncrementsPerWorker = 10;

    private PostgresInstance? _instance;
    private string _connectionString = "";
    private ServiceProvider? _services;

    [Params("UseAuroraDsql default", "EF default (Npgsql EnableRetryOnFailure)", "AWS connectors (3 retries, 100 ms doubling to 5 s)")]
    public string Policy { get; set; } = "";

    /// <summary>Workers that hit the retry limit in the last iteration (reported, not asserted).</summary>
    public static int GaveUp;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_instance, _connectionString) = await BenchDatabase.StartAsync();
        PolicyFactory.Policy = Policy;
        _services = new ServiceCollection()
            .AddPooledDbContextFactory<BenchContext>(b => b.UseAuroraDsql(_connectionString, o =>
            {
                o.Region("us-east-1").Credentials(BenchDatabase.Credentials);
            }).ReplaceService<IExecutionStrategyFactory, PolicyFactory>())
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

    /// <summary>
    /// Creates the strategy under test. Replacing the factory (rather than <c>o.Npgsql(n => n.ExecutionStrategy(...))</c>,
    /// which UseAuroraDsql refuses for non-DSQL retrying strategies) lets the benchmark run foreign policies on purpose.
    /// </summary>
    private sealed class PolicyFactory(ExecutionStrategyDependencies dependencies) : IExecutionStrategyFactory
    {
        public static string Policy = "";

        public IExecutionStrategy Create() => Policy switch
        {
            "UseAuroraDsql default" => new DsqlRetryingExecutionStrategy(dependencies),
            "EF default (Npgsql EnableRetryOnFailure)" => new NpgsqlRetryingExecutionStrategy(dependencies),
            "AWS connectors (3 retries, 100 ms doubling to 5 s)" => new FixedExponentialStrategy(dependencies),
            _ => throw new ArgumentOutOfRangeException(nameof(Policy)),
        };
    }

    /// <summary>The AWS connectors' OCC policy: 3 retries, 100 ms doubling to 5 s, same retryable errors as the DSQL strategy.</summary>
    private sealed class FixedExponentialStrategy(ExecutionStrategyDependencies dependencies)
        : DsqlRetryingExecutionStrategy(dependencies, 3, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5), null)
    {
        protected override TimeSpan? GetNextDelay(Exception lastException)
            => TimeSpan.FromMilliseconds(Math.Min(5000, 100 * Math.Pow(2, ExceptionsEncountered.Count - 1)));
    }
}
