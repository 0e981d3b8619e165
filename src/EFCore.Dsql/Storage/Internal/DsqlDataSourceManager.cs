using Dsql.Npgsql;
using Dsql.Npgsql.Internal;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>
/// Owns one <see cref="NpgsqlDataSource"/> (one connection pool, one token provider) per distinct
/// <see cref="DsqlConnectionOptions"/>: endpoint, role, region, profile, credentials, token lifetime and Npgsql
/// settings. Npgsql's own manager keys by connection string only, which would let two contexts with different
/// credentials or regions share the first one's tokens.
/// </summary>
/// <remarks>
/// <para>
/// This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.
/// Singleton; thread-safe. Disposes its data sources when EF's internal service provider is disposed.
/// Like Npgsql's <c>ConfigureDataSource</c>, a data-source configuration action is not part of the key: give contexts
/// that share options the same action.
/// </para>
/// <para>
/// Bounded: beyond <see cref="MaxDataSources"/> distinct options the least recently rented data source is evicted (and
/// <see cref="DsqlEventId.DataSourceEvicted"/> logged, since the usual cause is credentials built per context instead of
/// shared). Contexts rent a data source for their lifetime (<see cref="Rent"/>); an evicted one is disposed when its
/// last renter lets go, never under a connection that is still open.
/// </para>
/// </remarks>
public class DsqlDataSourceManager(IEnumerable<INpgsqlDataSourceConfigurationPlugin> plugins) : IDisposable, IAsyncDisposable
{
    /// <summary>The default bound on distinct data sources (connection pools) kept by one EF service provider: 32.</summary>
    public const int DefaultMaxDataSources = 32;

    private static readonly Action<ILogger, int, string, Exception?> LogEvicted = LoggerMessage.Define<int, string>(
        LogLevel.Warning,
        DsqlEventId.DataSourceEvicted,
        "EFCore.Dsql is keeping {MaxDataSources} connection pools, one per distinct DSQL connection options, and evicted the least recently "
        + "used one ({Evicted}). Each distinct credentials object, region, role or token lifetime gets its own pool: build AWS credentials once "
        + "and share them (or register one NpgsqlDataSource) instead of creating them per context, or the application keeps opening new pools.");

    private readonly INpgsqlDataSourceConfigurationPlugin[] _plugins = plugins.ToArray();
    private readonly Dictionary<(DsqlConnectionOptions Options, object? Credentials), Entry> _entries = [];
    private readonly HashSet<Entry> _retired = [];
    private readonly Lock _lock = new();
    private long _clock;
    private bool _disposed;

    /// <summary>The number of data sources kept for reuse (for diagnostics and tests); evicted ones still in use are not counted.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>How many distinct data sources are kept before the least recently used one is evicted (<see cref="DefaultMaxDataSources"/>).</summary>
    public virtual int MaxDataSources => DefaultMaxDataSources;

    /// <summary>
    /// Returns the shared data source for <paramref name="options"/>, creating it on first use (no I/O), for as long as
    /// the caller keeps it (never released: use <see cref="Rent"/> to let an evicted data source be disposed).
    /// </summary>
    /// <param name="options">The connector options.</param>
    /// <param name="npgsqlOptions">The Npgsql settings (the application's data-source configuration action).</param>
    /// <param name="loggerFactory">The application's logger factory, for the connector's and Npgsql's logs (the first one given for the options is kept).</param>
    public virtual NpgsqlDataSource GetDataSource(DsqlConnectionOptions options, NpgsqlOptionsExtension? npgsqlOptions, ILoggerFactory? loggerFactory = null)
        => Rent(options, npgsqlOptions, loggerFactory).DataSource;

    /// <summary>
    /// Rents the shared data source for <paramref name="options"/>, creating it on first use (no I/O). Dispose the lease
    /// when done (a context's connection does when the context is disposed); an evicted data source is disposed once no
    /// lease on it is left.
    /// </summary>
    /// <param name="options">The connector options.</param>
    /// <param name="npgsqlOptions">The Npgsql settings (the application's data-source configuration action).</param>
    /// <param name="loggerFactory">The application's logger factory, for the connector's and Npgsql's logs and the eviction warning.</param>
    /// <returns>The lease.</returns>
    public virtual DsqlDataSourceLease Rent(DsqlConnectionOptions options, NpgsqlOptionsExtension? npgsqlOptions, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);

        // The connector's options compare credentials by reference; fixed credentials are keyed by value instead.
        var key = (options.WithCredentials(null), DsqlCredentialIdentity.Of(options.Credentials));
        Entry entry;
        Entry? evicted = null;
        var disposeEvicted = false;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_entries.TryGetValue(key, out entry!))
            {
                // Lazy: built outside the lock, once, however many threads race on the first use.
                entry = new Entry(key, new Lazy<NpgsqlDataSource>(() => Create(options, npgsqlOptions, loggerFactory)));
                _entries.Add(key, entry);
                evicted = EvictLeastRecentlyUsed(entry);
                disposeEvicted = evicted is { Leases: 0 };
            }

            entry.Leases++;
            entry.LastRented = ++_clock;
        }

        if (evicted is not null)
        {
            if (loggerFactory is not null)
            {
                LogEvicted(loggerFactory.CreateLogger(DbLoggerCategory.Infrastructure.Name), MaxDataSources, Describe(evicted.Key.Options), null);
            }

            if (disposeEvicted)
            {
                DisposeDataSource(evicted);
            }
        }

        try
        {
            return new DsqlDataSourceLease(this, entry, entry.DataSource.Value);
        }
        catch
        {
            // A data source that cannot be built (a missing profile…) is not kept: the next context tries again.
            lock (_lock)
            {
                entry.Leases--;
                if (_entries.TryGetValue(key, out var current) && current == entry)
                {
                    _entries.Remove(key);
                }
            }

            throw;
        }
    }

    /// <summary>Builds a data source: plugins first, then DSQL authentication and defaults, then the application's own configuration.</summary>
    /// <param name="options">The connector options.</param>
    /// <param name="npgsqlOptions">The Npgsql settings.</param>
    /// <param name="loggerFactory">The application's logger factory, or <see langword="null"/>.</param>
    protected virtual NpgsqlDataSource Create(DsqlConnectionOptions options, NpgsqlOptionsExtension? npgsqlOptions, ILoggerFactory? loggerFactory)
    {
        var builder = new NpgsqlDataSourceBuilder();
        foreach (var plugin in _plugins)
        {
            plugin.Configure(builder);
        }

        builder.UseDsqlAuthentication(options, loggerFactory);
        npgsqlOptions?.DataSourceBuilderAction?.Invoke(builder);
        return builder.Build();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var entry in TakeAll())
        {
            DisposeDataSource(entry);
        }

        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var entry in TakeAll())
        {
            if (entry.DataSource.IsValueCreated)
            {
                await entry.DataSource.Value.DisposeAsync().ConfigureAwait(false);
            }
        }

        GC.SuppressFinalize(this);
    }

    private void Release(Entry entry)
    {
        lock (_lock)
        {
            if (--entry.Leases > 0 || !_retired.Remove(entry))
            {
                return;
            }
        }

        DisposeDataSource(entry); // evicted earlier, now unused
    }

    // Called under the lock once a new entry is in: past the bound, the least recently rented other entry leaves the map.
    // An entry still leased is retired (disposed when its last lease is released), an idle one is disposed by the caller.
    private Entry? EvictLeastRecentlyUsed(Entry added)
    {
        if (_entries.Count <= MaxDataSources)
        {
            return null;
        }

        var oldest = _entries.Values.Where(e => e != added).MinBy(e => e.LastRented)!;
        _entries.Remove(oldest.Key);
        if (oldest.Leases > 0)
        {
            _retired.Add(oldest);
        }

        return oldest;
    }

    private List<Entry> TakeAll()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return [];
            }

            _disposed = true;
            var all = _entries.Values.Concat(_retired).ToList();
            _entries.Clear();
            _retired.Clear();
            return all;
        }
    }

    private static void DisposeDataSource(Entry entry)
    {
        if (entry.DataSource.IsValueCreated)
        {
            entry.DataSource.Value.Dispose();
        }
    }

    // Secret-free: host, role and region only.
    private static string Describe(DsqlConnectionOptions options) => $"{options.Username}@{options.Host}, region {options.Region}";

    /// <summary>One data source and who is using it.</summary>
    internal sealed class Entry((DsqlConnectionOptions Options, object? Credentials) key, Lazy<NpgsqlDataSource> dataSource)
    {
        public (DsqlConnectionOptions Options, object? Credentials) Key { get; } = key;
        public Lazy<NpgsqlDataSource> DataSource { get; } = dataSource;
        public int Leases { get; set; }
        public long LastRented { get; set; }
    }

    /// <summary>Ends a lease (called once by <see cref="DsqlDataSourceLease.Dispose"/>).</summary>
    internal void Return(Entry entry) => Release(entry);
}

/// <summary>
/// A data source rented from <see cref="DsqlDataSourceManager"/>: dispose it when done so that an evicted data source can be
/// disposed once nobody uses it.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed class DsqlDataSourceLease : IDisposable
{
    private readonly DsqlDataSourceManager _manager;
    private readonly DsqlDataSourceManager.Entry _entry;
    private int _released;

    internal DsqlDataSourceLease(DsqlDataSourceManager manager, DsqlDataSourceManager.Entry entry, NpgsqlDataSource dataSource)
    {
        _manager = manager;
        _entry = entry;
        DataSource = dataSource;
    }

    /// <summary>The data source.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>Ends the lease (once; later calls do nothing).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _manager.Return(_entry);
        }
    }
}
