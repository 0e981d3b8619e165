using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Dsql.Local;
using EFCore.Dsql.Scenarios;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL;

namespace Dsql.Benchmarks;

/// <summary>
/// Goodput of an OCC-heavy workload under each retry policy, in one run: the functional tests' hot-row workload
/// (<see cref="HotRowContention"/>, the same code) with 16 workers each incrementing one row 10 times, every increment a
/// REPEATABLE READ read-modify-write unit run by the context's execution strategy, on Dsql.Local (DSQL's conflicts,
/// decided at <c>COMMIT</c>) and on plain PostgreSQL (a write waits for the row lock, then fails with <c>40001</c>).
/// </summary>
/// <remarks>
/// Policies: <c>UseAuroraDsql</c>'s own defaults (nothing replaced); EF Core's default retrying strategy for PostgreSQL
/// (<c>NpgsqlRetryingExecutionStrategy</c> as <c>EnableRetryOnFailure()</c> makes it: 6 retries, EF's exponential backoff
/// from about 1 s, at most 30 s; it retries <c>40001</c> because Npgsql reports that SQLSTATE as transient, so DSQL's
/// <c>OC000</c> conflicts too — nothing is added to it); and the two OCC retry defaults of the AWS DSQL connectors (see
/// docs/benchmarks.md for the sources): JDBC and .NET (3 retries, 100 ms doubling, capped at 5 s, plus 0–25 % jitter)
/// and Python, Node.js and Rust (3 retries, 1 ms doubling, capped at 100 ms, plus 0–25 % jitter).
/// One operation is the whole workload (160 units). A unit whose strategy gives up is still owed, so its writer submits it
/// again, as an application must: every policy does all the work, goodput is committed units per second of workload, and
/// the cleanup prints per target and policy the units committed, the time and how many times a strategy gave up (over
/// all workloads, warm-ups included; goodput for the record is 160 units divided by the measured mean).
/// </remarks>
// Eight warm-up workloads: the emulator runs in this process, and its relay and rules reach steady-state code only after
// a few thousand statements (one warm-up left Dsql.Local's numbers at a third of their steady state).
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 8, iterationCount: 5)]
public class EFCoreContentionBenchmarks
{
    private const int Workers = 16;
    private const int IncrementsPerWorker = 10;
    private const long CounterId = 1;

    private IAsyncDisposable? _server;
    private NpgsqlDataSource? _dataSource;
    private ServiceProvider? _services;
    private int _committed;
    private int _gaveUp;
    private TimeSpan _elapsed;

    /// <summary>The server the workload runs against.</summary>
    [ParamsAllValues]
    public Server Target { get; set; }

    /// <summary>The retry policy under test.</summary>
    [ParamsAllValues]
    public RetryPolicy Policy { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var policy = Policy;
        Action<DbContextOptionsBuilder> useServer;
        if (Target == Server.DsqlLocal)
        {
            var emulator = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
            var dataSource = emulator.CreateDataSource(configure: b => b.ConnectionStringBuilder.MaxPoolSize = 32);
            await using (var connection = await dataSource.OpenConnectionAsync())
            await using (var command = new NpgsqlCommand("""CREATE TABLE bench_counters ("Id" bigint PRIMARY KEY, "Value" bigint NOT NULL)""", connection))
            {
                await command.ExecuteNonQueryAsync();
            }

            _server = emulator;
            _dataSource = dataSource;
            useServer = b => b.UseAuroraDsql(dataSource);
        }
        else
        {
            (var postgres, var connectionString) = await BenchDatabase.StartAsync();
            _server = postgres;
            useServer = b => b.UseAuroraDsql(connectionString, o => o.Region("us-east-1").Credentials(BenchDatabase.Credentials));
        }

        _services = new ServiceCollection()
            .AddPooledDbContextFactory<BenchContext>(b =>
            {
                useServer(b);
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
            $"// {Target} {Policy}: {_committed} units committed in {_elapsed.TotalSeconds:0.00} s of workload, {_gaveUp} given up and resubmitted "
                + $"({Workers} workers x {IncrementsPerWorker} increments per run); goodput {_committed / _elapsed.TotalSeconds:0.0} commits/s");
        await _services!.DisposeAsync();
        if (_dataSource is not null)
        {
            await _dataSource.DisposeAsync();
        }

        await _server!.DisposeAsync();
    }

    [Benchmark(Description = "16 workers x 10 hot-row increments, given-up units resubmitted")]
    public async Task HotRowIncrements()
    {
        var result = await HotRowContention.RunAsync(
            _services!.GetRequiredService<IDbContextFactory<BenchContext>>(), CounterId, Workers, IncrementsPerWorker, resubmitGivenUp: true);
        _committed += result.Committed;
        _gaveUp += result.GaveUp;
        _elapsed += result.Elapsed;
    }

    /// <summary>The servers compared.</summary>
    public enum Server
    {
        /// <summary>Dsql.Local with its defaults (IAM, TLS): DSQL's conflicts, decided at <c>COMMIT</c>.</summary>
        DsqlLocal,

        /// <summary>Plain PostgreSQL (trusted loopback TCP): a write waits for the row lock, then fails with <c>40001</c>.</summary>
        PostgreSQL,
    }

    /// <summary>The policies compared.</summary>
    public enum RetryPolicy
    {
        /// <summary><c>UseAuroraDsql</c> as shipped: full jitter from 5 ms to 100 ms, 60 s budget.</summary>
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
