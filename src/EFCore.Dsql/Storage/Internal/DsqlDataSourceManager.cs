using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>
/// Owns one <see cref="NpgsqlDataSource"/> (one connection pool, one token provider) per distinct DSQL configuration:
/// the connection string <em>and</em> the auth settings. Npgsql's own manager keys by connection string only, which
/// would let two contexts with different credentials or regions share the first one's tokens.
/// </summary>
/// <remarks>
/// This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.
/// Singleton; thread-safe. Disposes its data sources when EF's internal service provider is disposed.
/// </remarks>
public class DsqlDataSourceManager(IEnumerable<INpgsqlDataSourceConfigurationPlugin> plugins) : IDisposable, IAsyncDisposable
{
    private readonly INpgsqlDataSourceConfigurationPlugin[] _plugins = plugins.ToArray();
    private readonly ConcurrentDictionary<(string ConnectionString, DsqlAuthSettings Auth), Lazy<NpgsqlDataSource>> _dataSources = new();
    private readonly ConcurrentDictionary<(string Source, string? Region), (string ConnectionString, string Host, string Region)> _parsed = new();
    private volatile bool _disposed;

    /// <summary>The number of data sources created so far (for diagnostics and tests).</summary>
    public int Count => _dataSources.Count;

    /// <summary>Returns the shared data source for a DSQL configuration, creating it on first use.</summary>
    /// <param name="dsqlOptions">The DSQL settings.</param>
    /// <param name="npgsqlOptions">The Npgsql settings (data source configuration actions).</param>
    /// <param name="connectionSource">The endpoint, cluster ID or connection string.</param>
    public virtual NpgsqlDataSource GetDataSource(DsqlOptionsExtension dsqlOptions, NpgsqlOptionsExtension? npgsqlOptions, string connectionSource)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var auth = dsqlOptions.AuthSettings;
        // Parsed once per source: non-pooled contexts resolve their data source on every construction.
        var (connectionString, host, region) = _parsed.GetOrAdd(
            (connectionSource, auth.Region), static key => DsqlConnectionStringFactory.Build(key.Source, key.Region));

        // Lazy: two threads racing on the first use must not build (and leak) two pools.
        return _dataSources.GetOrAdd(
            (connectionString, auth),
            static (key, state) => new Lazy<NpgsqlDataSource>(() => state.Manager.Create(key.ConnectionString, state.Host, state.Region, key.Auth, state.Npgsql)),
            (Manager: this, Host: host, Region: region, Npgsql: npgsqlOptions)).Value;
    }

    /// <summary>Builds a data source: plugins first, then DSQL authentication, then the application's own configuration.</summary>
    /// <param name="connectionString">The connection string without a password.</param>
    /// <param name="host">The endpoint tokens are signed for.</param>
    /// <param name="region">The AWS region.</param>
    /// <param name="auth">The auth settings.</param>
    /// <param name="npgsqlOptions">The Npgsql settings.</param>
    protected virtual NpgsqlDataSource Create(
        string connectionString, string host, string region, DsqlAuthSettings auth, NpgsqlOptionsExtension? npgsqlOptions)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        foreach (var plugin in _plugins)
        {
            plugin.Configure(builder);
        }

        var tokens = new DsqlTokenProvider(host, region, auth);
        builder.UsePasswordProvider(tokens.GetToken, tokens.GetTokenAsync);
        npgsqlOptions?.DataSourceBuilderAction?.Invoke(builder);
        return builder.Build();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var dataSource in _dataSources.Values.Where(l => l.IsValueCreated))
        {
            dataSource.Value.Dispose();
        }

        _dataSources.Clear();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var dataSource in _dataSources.Values.Where(l => l.IsValueCreated))
        {
            await dataSource.Value.DisposeAsync().ConfigureAwait(false);
        }

        _dataSources.Clear();
        GC.SuppressFinalize(this);
    }
}
