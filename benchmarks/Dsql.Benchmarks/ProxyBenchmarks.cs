using BenchmarkDotNet.Attributes;
using Dsql.Local;
using Dsql.Local.Backend;
using Npgsql;

namespace Dsql.Benchmarks;

/// <summary>
/// What the Dsql.Local proxy costs per round trip: the same statement directly against PostgreSQL over loopback TCP and
/// through the emulator (plain and TLS), on one open connection each, in one run.
/// </summary>
[SimpleJob(warmupCount: 2, iterationCount: 5)]
[MemoryDiagnoser]
public class ProxyBenchmarks
{
    private PostgresInstance _postgres = null!;
    private DsqlLocalServer _tlsServer = null!;
    private DsqlLocalServer _plainServer = null!;
    private NpgsqlConnection _direct = null!;
    private NpgsqlConnection _proxy = null!;
    private NpgsqlConnection _proxyTls = null!;
    private NpgsqlCommand _directSelect = null!;
    private NpgsqlCommand _proxySelect = null!;
    private NpgsqlCommand _proxyTlsSelect = null!;
    private NpgsqlCommand _directInsert = null!;
    private NpgsqlCommand _proxyInsert = null!;
    private int _id;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        // One PostgreSQL for every path. "Direct" reaches it over loopback TCP, as clients reach the emulator; the emulators
        // reach it over its private unix socket, as they do by default.
        _postgres = await PostgresInstance.StartAsync(new PostgresSettings { ListenOnTcp = true });
        _tlsServer = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { Backend = _postgres.ConnectionString });
        _plainServer = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { NoTls = true, Backend = _postgres.ConnectionString });
        _direct = new NpgsqlConnection(_postgres.TcpConnectionString);
        _proxy = new NpgsqlConnection(_plainServer.GetConnectionString());
        _proxyTls = new NpgsqlConnection(_tlsServer.GetConnectionString());
        await _direct.OpenAsync();
        await _proxy.OpenAsync();
        await _proxyTls.OpenAsync();
        await using (var create = new NpgsqlCommand("DROP TABLE IF EXISTS bench_rows; CREATE TABLE bench_rows (id int PRIMARY KEY, v text)", _direct))
        {
            await create.ExecuteNonQueryAsync();
        }

        _directSelect = new NpgsqlCommand("SELECT 1", _direct);
        _proxySelect = new NpgsqlCommand("SELECT 1", _proxy);
        _proxyTlsSelect = new NpgsqlCommand("SELECT 1", _proxyTls);
        _directInsert = new NpgsqlCommand("INSERT INTO bench_rows (id, v) VALUES ($1, 'x')", _direct) { Parameters = { new() { Value = 0 } } };
        _proxyInsert = new NpgsqlCommand("INSERT INTO bench_rows (id, v) VALUES ($1, 'x')", _proxy) { Parameters = { new() { Value = 0 } } };
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _direct.DisposeAsync();
        await _proxy.DisposeAsync();
        await _proxyTls.DisposeAsync();
        await _plainServer.DisposeAsync();
        await _tlsServer.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "SELECT 1, direct")]
    public Task<object?> SelectDirect() => _directSelect.ExecuteScalarAsync();

    [Benchmark(Description = "SELECT 1, through Dsql.Local")]
    public Task<object?> SelectProxy() => _proxySelect.ExecuteScalarAsync();

    [Benchmark(Description = "SELECT 1, through Dsql.Local over TLS")]
    public Task<object?> SelectProxyTls() => _proxyTlsSelect.ExecuteScalarAsync();

    [Benchmark(Description = "INSERT, direct")]
    public Task<int> InsertDirect()
    {
        _directInsert.Parameters[0].Value = Interlocked.Increment(ref _id);
        return _directInsert.ExecuteNonQueryAsync();
    }

    [Benchmark(Description = "INSERT, through Dsql.Local (with row-limit check)")]
    public Task<int> InsertProxy()
    {
        _proxyInsert.Parameters[0].Value = Interlocked.Increment(ref _id);
        return _proxyInsert.ExecuteNonQueryAsync();
    }
}
