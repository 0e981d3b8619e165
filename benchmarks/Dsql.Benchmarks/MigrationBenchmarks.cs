using BenchmarkDotNet.Attributes;
using Dsql.Local;
using Dsql.Local.Backend;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

namespace Dsql.Benchmarks;

/// <summary>
///     Applying a 50-entity initial migration (50 tables with identity keys and foreign keys, 50 indexes): the DSQL
///     migrator on the Dsql.Local emulator (IAM auth, TLS, one statement per transaction, index jobs waited for) against
///     plain <c>UseNpgsql</c> on plain PostgreSQL, and the DSQL migrator without waiting for index jobs.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 12, iterationCount: 15, invocationCount: 1)]
[MemoryDiagnoser]
public class MigrationBenchmarks
{
    private DsqlLocalServer _emulator = null!;
    private NpgsqlDataSource _emulatorDataSource = null!;
    private PostgresInstance _postgres = null!;
    private NpgsqlDataSource _postgresDataSource = null!;
    private readonly StatementTimes _times = new();

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _emulator = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        _emulatorDataSource = _emulator.CreateDataSource();
        _postgres = await PostgresInstance.StartAsync();
        _postgresDataSource = NpgsqlDataSource.Create(_postgres.ConnectionString);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _times.Print();
        await _emulatorDataSource.DisposeAsync();
        await _emulator.DisposeAsync();
        await _postgresDataSource.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    [IterationSetup]
    public void Reset()
    {
        Drop(_emulator.BackendConnectionString);
        Drop(_postgres.ConnectionString);

        static void Drop(string connectionString)
        {
            using var connection = new NpgsqlConnection(connectionString);
            connection.Open();
            using var command = new NpgsqlCommand("DROP SCHEMA IF EXISTS bench CASCADE", connection);
            command.ExecuteNonQuery();
        }
    }

    [Benchmark(Baseline = true, Description = "UseNpgsql on PostgreSQL")]
    public async Task Npgsql_on_postgres()
    {
        await using var context = new MigrationBenchContext(new DbContextOptionsBuilder<MigrationBenchContext>()
            .UseNpgsql(_postgresDataSource, o => o.MigrationsHistoryTable("__EFMigrationsHistory", MigrationBenchContext.Schema))
            .Options);
        await context.Database.MigrateAsync();
    }

    [Benchmark(Description = "DSQL migrator on Dsql.Local, waiting for jobs")]
    public Task Dsql_on_emulator() => MigrateOnEmulatorAsync(waitForJobs: true, _times);

    [Benchmark(Description = "DSQL migrator on Dsql.Local, not waiting for jobs")]
    public Task Dsql_on_emulator_without_waits() => MigrateOnEmulatorAsync(waitForJobs: false, null);

    // The shipped set-up, as an application configures it (default retry strategy included).
    private async Task MigrateOnEmulatorAsync(bool waitForJobs, StatementTimes? times)
    {
        var builder = new DbContextOptionsBuilder<MigrationBenchContext>()
            .UseAuroraDsql(_emulatorDataSource, o => o
                .WaitForMigrationJobs(waitForJobs)
                .Npgsql(npgsql => npgsql.MigrationsHistoryTable("__EFMigrationsHistory", MigrationBenchContext.Schema)));
        if (times is not null)
        {
            builder.AddInterceptors(times);
        }

        await using var context = new MigrationBenchContext(builder.Options);
        await context.Database.MigrateAsync();
        times?.EndRun();
    }
}

/// <summary>
///     Where a DSQL migration's time goes: the statements' server round trips, summed by kind, averaged per run. The
///     <c>CALL sys.wait_for_job</c> statements of a run of index builds go to Npgsql as one pipelined batch, outside EF's
///     command pipeline, so this interceptor does not see them (a lone build's wait it does).
/// </summary>
internal sealed class StatementTimes : Microsoft.EntityFrameworkCore.Diagnostics.DbCommandInterceptor
{
    private readonly Dictionary<string, (int Count, TimeSpan Time)> _byKind = [];
    private int _runs;

    public override ValueTask<int> NonQueryExecutedAsync(
        System.Data.Common.DbCommand command, Microsoft.EntityFrameworkCore.Diagnostics.CommandExecutedEventData eventData, int result,
        CancellationToken cancellationToken = default)
    {
        Add(command.CommandText, eventData.Duration);
        return ValueTask.FromResult(result);
    }

    public override ValueTask<System.Data.Common.DbDataReader> ReaderExecutedAsync(
        System.Data.Common.DbCommand command, Microsoft.EntityFrameworkCore.Diagnostics.CommandExecutedEventData eventData,
        System.Data.Common.DbDataReader result, CancellationToken cancellationToken = default)
    {
        Add(command.CommandText, eventData.Duration);
        return ValueTask.FromResult(result);
    }

    public override ValueTask<object?> ScalarExecutedAsync(
        System.Data.Common.DbCommand command, Microsoft.EntityFrameworkCore.Diagnostics.CommandExecutedEventData eventData, object? result,
        CancellationToken cancellationToken = default)
    {
        Add(command.CommandText, eventData.Duration);
        return ValueTask.FromResult(result);
    }

    public void EndRun() => _runs++;

    public void Print()
    {
        if (_runs == 0)
        {
            return;
        }

        Console.WriteLine($"// Statement time per run of the DSQL migrator on Dsql.Local ({_runs} runs):");
        foreach (var (kind, (count, time)) in _byKind.OrderByDescending(k => k.Value.Time))
        {
            Console.WriteLine($"//   {kind,-40} {count / _runs,5} statements {time.TotalMilliseconds / _runs,9:F1} ms");
        }
    }

    private void Add(string sql, TimeSpan duration)
    {
        var kind = sql switch
        {
            _ when sql.StartsWith("CREATE TABLE", StringComparison.Ordinal) => "CREATE TABLE",
            _ when sql.StartsWith("CREATE INDEX ASYNC", StringComparison.Ordinal) => "CREATE INDEX ASYNC",
            _ when sql.StartsWith("CALL sys.wait_for_job", StringComparison.Ordinal) => "CALL sys.wait_for_job",
            _ when sql.Contains("__EFMigrationsLock", StringComparison.Ordinal) => "lease and progress (__EFMigrationsLock)",
            _ when sql.Contains("__EFMigrationsHistory", StringComparison.Ordinal) => "history table",
            _ => "other"
        };
        var (count, time) = _byKind.GetValueOrDefault(kind);
        _byKind[kind] = (count + 1, time + duration);
    }
}

/// <summary>The context of the 50-entity migration.</summary>
public sealed class MigrationBenchContext(DbContextOptions<MigrationBenchContext> options) : DbContext(options)
{
    /// <summary>The schema of everything the benchmark creates.</summary>
    public const string Schema = "bench";
}

/// <summary>50 entities, each with a bigint identity key, three columns, a foreign key to the previous one and an index.</summary>
[DbContext(typeof(MigrationBenchContext))]
[Migration("20260101000000_FiftyEntities")]
public sealed class FiftyEntities : Migration
{
    /// <summary>How many entities the migration creates.</summary>
    public const int EntityCount = 50;

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.EnsureSchema(MigrationBenchContext.Schema);
        for (var i = 0; i < EntityCount; i++)
        {
            var name = $"Entity{i:00}";
            var previous = i == 0 ? null : $"Entity{i - 1:00}";
            migrationBuilder.CreateTable(
                name: name,
                schema: MigrationBenchContext.Schema,
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Name = table.Column<string>(type: "character varying(200)", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "timestamp with time zone", nullable: false),
                    ParentId = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey($"PK_{name}", x => x.Id);
                    if (previous is not null)
                    {
                        table.ForeignKey($"FK_{name}_{previous}_ParentId", x => x.ParentId, previous, "Id", MigrationBenchContext.Schema);
                    }
                });
            migrationBuilder.CreateIndex($"IX_{name}_ParentId", name, "ParentId", MigrationBenchContext.Schema);
        }
    }
}
