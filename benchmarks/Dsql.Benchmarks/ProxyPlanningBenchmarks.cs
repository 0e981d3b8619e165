using BenchmarkDotNet.Attributes;
using Dsql.Local.Rules;
using Dsql.Local.Sql;

namespace Dsql.Benchmarks;

/// <summary>
/// The proxy's own CPU per extended-protocol statement: planning one <c>Parse</c> (lexing, DSQL's rules, the plan), the
/// part of a proxied round trip that is not socket I/O. Npgsql sends the same text in a <c>Parse</c> for every execution
/// of an unprepared command, so repeated text is the common case.
/// </summary>
[SimpleJob(warmupCount: 2, iterationCount: 5)]
[MemoryDiagnoser]
public class ProxyPlanningBenchmarks
{
    private const string Select = "SELECT 1";
    private const string Insert = "INSERT INTO bench_rows (id, v) VALUES ($1, 'x')";
    private readonly DsqlDialect _dialect = new();
    private SessionPlanner _planner = null!;

    [GlobalSetup]
    public void Setup() => _planner = new SessionPlanner(new DsqlDialect(), new RefusalRegistry(), new ConflictCoordinator(), "admin", null);

    [Benchmark(Baseline = true, Description = "Lex + analyze SELECT 1 (every Parse, uncached)")]
    public string AnalyzeSelect() => _dialect.Analyze(SqlLexer.Split(Select)[0]).BackendSql;

    [Benchmark(Description = "Lex + analyze INSERT (every Parse, uncached)")]
    public string AnalyzeInsert() => _dialect.Analyze(SqlLexer.Split(Insert)[0]).BackendSql;

    [Benchmark(Description = "Plan Parse: SELECT 1")]
    public string PlanSelect()
    {
        var plan = _planner.PlanExtended(Select);
        _planner.OnSync();
        return plan.BackendSql;
    }

    [Benchmark(Description = "Plan Parse: INSERT ... VALUES ($1, 'x')")]
    public string PlanInsert()
    {
        var plan = _planner.PlanExtended(Insert);
        _planner.OnSync();
        return plan.BackendSql;
    }
}
