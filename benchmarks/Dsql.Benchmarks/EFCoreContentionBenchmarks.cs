using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Dsql.Local.Backend;
using EFCore.Dsql.Scenarios;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL;

namespace Dsql.Benchmarks;

/// <summary>
/// Goodput of an OCC-heavy workload under each retry policy, in one run on the same server: the functional tests'
/// hot-row workload (<see cref="HotRowContention"/>, the same code) with 16 workers each incrementing one row 10 times,
/// every increment a REPEATABLE READ read-modify-write unit run by the context's execution strategy. PostgreSQL answers
/// the conflicts with SQLSTATE <c>40001</c>, as DSQL does (with <c>OC000</c> in the message).
/// </summary>
/// <remarks>
/// Policies: <c>UseAuroraDsql</c>'s own defaults (nothing replaced); EF Core's default retrying strategy for PostgreSQL
/// (<c>NpgsqlRetryingExecutionStrategy</c> as <c>EnableRetryOnFailure()</c> makes it: 6 retries, EF's exponential backoff
/// from about 1 s, at most 30 s; it retries <c>40001</c> because Npgsql reports that SQLSTATE as transient, so DSQL's
/// <c>OC000</c> conflicts too — nothing is added to it); and the two OCC retry defaults of the AWS DSQL connectors (see
/// docs/benchmarks.md for the sources): JDBC and .NET (3 retries, 100 ms doubling, capped at 5 s, plus 0–25 % jitter)
/// and Python, Node.js and Rust (3 retries, 1 ms doubling, capped at 100 ms, plus 0–25 % jitter).
/// One operation is the whole workload (160 units). Units whose strategy gives up are lost work: the cleanup prints, per
/// policy, the units committed and given up over all runs and the goodput (committed units per second of workload).
/// </remarks>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class EFCoreContentionBenchmarks
{
    private const int Workers = 16;
    private const int IncrementsPerWorker = 10;
    private const long CounterId = 1;

    private PostgresInstance? _instance;
    private ServiceProvider? _services;
    private int _committed;
    private int _gaveUp;
    private TimeSpan _elapsed;

    /// <summary>The retry policy under test.</summary>
    [ParamsAllValues]
    public RetryPolicy Policy { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_instance, var connectionString) = await BenchDatabase.StartAsync();
        var policy = Policy;
        _services = new ServiceCollection()
            .AddPooledDbContextFactory<BenchContext>(b =>
            {
                b.UseAuroraDsql(connectionString, o => o.Region("us-east-1").Credentials(BenchDatabase.Credentials));
                if (policy != RetryPolicy.UseAuroraDsqlDefault)
                {
                    // UseAuroraDsql refuses foreign retrying strategies set through its options (on purpose); replacing the
                    // factory is how the benchmark runs them anyway.
                    b.ReplaceService<IExecutionStrategyFactory, ForeignPolicyFactory>();
                }
            })
            .BuildServiceProvider();
        ForeignPolicyFactory.Policy = policy;
    }

    [IterationSetup]
    public void ResetCounter()
        => HotRowContention.SeedAsync(_services!.GetRequiredService<IDbContextFactory<BenchContext>>(), CounterId).GetAwaiter().GetResult();

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        Console.WriteLine(
            $"// {Policy}: {_committed} units committed, {_gaveUp} gave up over {_elapsed.TotalSeconds:0.0} s of workload "
                + $"({Workers} workers x {IncrementsPerWorker} increments per run); goodput {_committed / _elapsed.TotalSeconds:0.0} commits/s");
        await _services!.DisposeAsync();
        await _instance!.DisposeAsync();
    }

    [Benchmark(Description = "16 workers x 10 hot-row increments")]
    public async Task HotRowIncrements()
    {
        var result = await HotRowContention.RunAsync(_services!.GetRequiredService<IDbContextFactory<BenchContext>>(), CounterId, Workers, IncrementsPerWorker);
        _committed += result.Committed;
        _gaveUp += result.GaveUp;
        _elapsed += result.Elapsed;
    }

    /// <summary>The policies compared.</summary>
    public enum RetryPolicy
    {
        /// <summary><c>UseAuroraDsql</c> as shipped: full jitter from 1 ms to 100 ms, 60 s budget.</summary>
        UseAuroraDsqlDefault,

        /// <summary>EF Core's <c>NpgsqlRetryingExecutionStrategy</c> with its defaults.</summary>
        EFCoreNpgsqlDefault,

        /// <summary>The OCC retry defaults of the AWS DSQL connectors for JDBC and .NET.</summary>
        AwsConnectorsJdbcDotnet,

        /// <summary>The OCC retry defaults of the AWS DSQL connectors for Python, Node.js and Rust.</summary>
        AwsConnectorsPythonNodeRust,
    }

    private sealed class ForeignPolicyFactory(ExecutionStrategyDependencies dependencies) : IExecutionStrategyFactory
    {
        public static RetryPolicy Policy;

        public IExecutionStrategy Create() => Policy switch
        {
            RetryPolicy.EFCoreNpgsqlDefault => new NpgsqlRetryingExecutionStrategy(dependencies),
            RetryPolicy.AwsConnectorsJdbcDotnet => new AwsConnectorOccStrategy(dependencies, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5)),
            RetryPolicy.AwsConnectorsPythonNodeRust => new AwsConnectorOccStrategy(dependencies, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(100)),
            _ => throw new ArgumentOutOfRangeException(nameof(Policy), Policy, null),
        };
    }

    /// <summary>
    /// The AWS connectors' OCC policy: retries <c>40001</c> and messages carrying <c>OC000</c>/<c>OC001</c>, at most 3
    /// times, waiting <c>min(base * 2^(n-1), cap)</c> plus a random 0–25 % of that.
    /// </summary>
    private sealed class AwsConnectorOccStrategy(ExecutionStrategyDependencies dependencies, TimeSpan baseDelay, TimeSpan maxDelay)
        : ExecutionStrategy(dependencies, maxRetryCount: 3, maxRetryDelay: maxDelay)
    {
        protected override bool ShouldRetryOn(Exception exception)
        {
            for (var current = exception; current is not null; current = current.InnerException)
            {
                if (current is PostgresException { SqlState: PostgresErrorCodes.SerializationFailure }
                    || current.Message.Contains("OC000", StringComparison.Ordinal)
                    || current.Message.Contains("OC001", StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        protected override TimeSpan? GetNextDelay(Exception lastException)
        {
            var retry = ExceptionsEncountered.Count;
            if (retry > MaxRetryCount)
            {
                return null;
            }

            var delay = Math.Min(baseDelay.TotalMilliseconds * Math.Pow(2, retry - 1), MaxRetryDelay.TotalMilliseconds);
            return TimeSpan.FromMilliseconds(delay + delay * 0.25 * Random.Shared.NextDouble());
        }
    }
}
