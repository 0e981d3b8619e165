using BenchmarkDotNet.Attributes;
using Dsql.Local.Backend;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Dsql.Benchmarks;

/// <summary>
/// Pooled-context query throughput on one local PostgreSQL: <c>UseAuroraDsql</c> (IAM data source, DSQL
/// transactions, retrying strategy around every query) against plain <c>UseNpgsql</c>. Each operation rents a pooled
/// context and runs a primary-key lookup; 8 concurrent callers keep the pool busy.
/// </summary>
[SimpleJob(warmupCount: 2, iterationCount: 5)]
[MemoryDiagnoser]
public class EFCoreQueryBenchmarks
{
    private const int Concurrency = 8;
    private const int QueriesPerCaller = 250;

    private PostgresInstance? _instance;
    private ServiceProvider? _npgsql;
    private ServiceProvider? _dsql;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_instance, var connectionString) = await BenchDatabase.StartAsync();
        _npgsql = new ServiceCollection().AddPooledDbContextFactory<BenchContext>(b => b.UseNpgsql(connectionString)).BuildServiceProvider();
        _dsql = new ServiceCollection()
            .AddPooledDbContextFactory<BenchContext>(b => b.UseAuroraDsql(connectionString, o => o.Region("us-east-1").Credentials(BenchDatabase.Credentials)))
            .BuildServiceProvider();
        await RunAsync(_npgsql);
        await RunAsync(_dsql);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _npgsql!.DisposeAsync();
        await _dsql!.DisposeAsync();
        await _instance!.DisposeAsync();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Concurrency * QueriesPerCaller)]
    public Task UseNpgsql() => RunAsync(_npgsql!);

    [Benchmark(OperationsPerInvoke = Concurrency * QueriesPerCaller)]
    public Task UseAuroraDsql() => RunAsync(_dsql!);

    private static Task RunAsync(IServiceProvider services)
    {
        var factory = services.GetRequiredService<IDbContextFactory<BenchContext>>();
        return Task.WhenAll(Enumerable.Range(0, Concurrency).Select(caller => Task.Run(async () =>
        {
            for (var i = 0; i < QueriesPerCaller; i++)
            {
                var id = (long)((caller * QueriesPerCaller + i) % 1000) + 1;
                await using var context = await factory.CreateDbContextAsync();
                _ = await context.Blogs.AsNoTracking().FirstAsync(b => b.Id == id);
            }
        })));
    }
}
