using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Dsql.Local;
using Dsql.Local.Backend;
using Npgsql;

namespace Dsql.Benchmarks;

/// <summary>
/// What the Dsql.Local proxy costs per round trip, in one run: the same statement on one open connection each, directly
/// against PostgreSQL over loopback TCP (each group's baseline) and through the emulator: plain, over TLS, and plain with
/// DSQL's grammar admission switched off, so the admission's share is visible. <c>SELECT 1</c> repeats one text (the
/// admission verdict is cached after the first); the "distinct text" group sends a new statement text every time (a
/// literal inlined), so every call pays lexing, the dialect's analysis and the grammar recognizer.
/// </summary>
[SimpleJob(warmupCount: 2, iterationCount: 5)]
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class ProxyBenchmarks
{
    private const string Select1 = "SELECT 1";
    private const string Distinct = "Distinct text";
    private const string Insert = "INSERT";

    private PostgresInstance _postgres = null!;
    private DsqlLocalServer _tlsServer = null!;
    private DsqlLocalServer _plainServer = null!;
    private DsqlLocalServer _noAdmissionServer = null!;
    private NpgsqlConnection _direct = null!;
    private NpgsqlConnection _proxy = null!;
    private NpgsqlConnection _proxyTls = null!;
    private NpgsqlConnection _proxyNoAdmission = null!;
    private NpgsqlCommand _directSelect = null!;
    private NpgsqlCommand _proxySelect = null!;
    private NpgsqlCommand _proxyTlsSelect = null!;
    private NpgsqlCommand _proxyNoAdmissionSelect = null!;
    private NpgsqlCommand _directInsert = null!;
    private NpgsqlCommand _proxyInsert = null!;
    private int _id;
    private int _text;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        // One PostgreSQL for every path. "Direct" reaches it over loopback TCP, as clients reach the emulator; the emulators
        // reach it over its private unix socket, as they do by default.
        _postgres = await PostgresInstance.StartAsync(new PostgresSettings { ListenOnTcp = true });
        _tlsServer = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { Backend = _postgres.ConnectionString });
        _plainServer = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { NoTls = true, Backend = _postgres.ConnectionString });
        _noAdmissionServer = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { NoTls = true, Backend = _postgres.ConnectionString, GrammarAdmission = false });
        _direct = new NpgsqlConnection(_postgres.TcpConnectionString);
        _proxy = new NpgsqlConnection(_plainServer.GetConnectionString());
        _proxyTls = new NpgsqlConnection(_tlsServer.GetConnectionString());
        _proxyNoAdmission = new NpgsqlConnection(_noAdmissionServer.GetConnectionString());
        await _direct.OpenAsync();
        await _proxy.OpenAsync();
        await _proxyTls.OpenAsync();
        await _proxyNoAdmission.OpenAsync();
        // Created through the emulator, so it belongs to admin (the emulators' role); the direct connection is the superuser.
        foreach (var ddl in new[] { "DROP TABLE IF EXISTS bench_rows", "CREATE TABLE bench_rows (id int PRIMARY KEY, v text)" })
        {
            await using var create = new NpgsqlCommand(ddl, _proxy);
            await create.ExecuteNonQueryAsync();
        }

        _directSelect = new NpgsqlCommand("SELECT 1", _direct);
        _proxySelect = new NpgsqlCommand("SELECT 1", _proxy);
        _proxyTlsSelect = new NpgsqlCommand("SELECT 1", _proxyTls);
        _proxyNoAdmissionSelect = new NpgsqlCommand("SELECT 1", _proxyNoAdmission);
        _directInsert = new NpgsqlCommand("INSERT INTO bench_rows (id, v) VALUES ($1, 'x')", _direct) { Parameters = { new() { Value = 0 } } };
        _proxyInsert = new NpgsqlCommand("INSERT INTO bench_rows (id, v) VALUES ($1, 'x')", _proxy) { Parameters = { new() { Value = 0 } } };
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _direct.DisposeAsync();
        await _proxy.DisposeAsync();
        await _proxyTls.DisposeAsync();
        await _proxyNoAdmission.DisposeAsync();
        await _plainServer.DisposeAsync();
        await _tlsServer.DisposeAsync();
        await _noAdmissionServer.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "SELECT 1, direct")]
    [BenchmarkCategory(Select1)]
    public Task<object?> SelectDirect() => _directSelect.ExecuteScalarAsync();

    [Benchmark(Description = "SELECT 1, through Dsql.Local")]
    [BenchmarkCategory(Select1)]
    public Task<object?> SelectProxy() => _proxySelect.ExecuteScalarAsync();

    [Benchmark(Description = "SELECT 1, through Dsql.Local over TLS")]
    [BenchmarkCategory(Select1)]
    public Task<object?> SelectProxyTls() => _proxyTlsSelect.ExecuteScalarAsync();

    [Benchmark(Description = "SELECT 1, through Dsql.Local, grammar admission off")]
    [BenchmarkCategory(Select1)]
    public Task<object?> SelectProxyNoAdmission() => _proxyNoAdmissionSelect.ExecuteScalarAsync();

    [Benchmark(Baseline = true, Description = "distinct text, direct")]
    [BenchmarkCategory(Distinct)]
    public Task<object?> DistinctDirect() => ScalarAsync(_direct, DistinctText());

    [Benchmark(Description = "distinct text, through Dsql.Local")]
    [BenchmarkCategory(Distinct)]
    public Task<object?> DistinctProxy() => ScalarAsync(_proxy, DistinctText());

    [Benchmark(Description = "distinct text, through Dsql.Local, grammar admission off")]
    [BenchmarkCategory(Distinct)]
    public Task<object?> DistinctProxyNoAdmission() => ScalarAsync(_proxyNoAdmission, DistinctText());

    [Benchmark(Baseline = true, Description = "INSERT, direct")]
    [BenchmarkCategory(Insert)]
    public Task<int> InsertDirect()
    {
        _directInsert.Parameters[0].Value = Interlocked.Increment(ref _id);
        return _directInsert.ExecuteNonQueryAsync();
    }

    [Benchmark(Description = "INSERT, through Dsql.Local (with row-limit check)")]
    [BenchmarkCategory(Insert)]
    public Task<int> InsertProxy()
    {
        _proxyInsert.Parameters[0].Value = Interlocked.Increment(ref _id);
        return _proxyInsert.ExecuteNonQueryAsync();
    }

    /// <summary>An EF-shaped lookup whose text is new on every call (the key inlined), so no cache of the proxy answers it.</summary>
    private string DistinctText()
        => $"SELECT b.id, b.v FROM bench_rows AS b WHERE b.id = {Interlocked.Increment(ref _text)} AND b.v IS NOT NULL ORDER BY b.id LIMIT 1";

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
