using System.Collections.Concurrent;
using Dsql.Npgsql;
using Dsql.Npgsql.Internal;
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
/// This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.
/// Singleton; thread-safe. Disposes its data sources when EF's internal service provider is disposed.
/// Like Npgsql's <c>ConfigureDataSource</c>, a data-source configuration action is not part of the key: give contexts
/// that share options the same action.
/// </remarks>
public class DsqlDataSourceManager(IEnumerable<INpgsqlDataSourceConfigurationPlugin> plugins) : IDisposable, IAsyncDisposable
{
    private readonly INpgsqlDataSourceConfigurationPlugin[] _plugins = plugins.ToArray();
    private readonly ConcurrentDictionary<(DsqlConnectionOptions Options, object? Credentials), Lazy<NpgsqlDataSource>> _dataSources = new();
    private volatile bool _disposed;

    /// <summary>The number of data sources created so far (for diagnostics and tests).</summary>
    public int Count => _dataSources.Count;

    /// <summary>Returns the shared data source for <paramref name="options"/>, creating it on first use (no I/O).</summary>
    /// <param name="options">The connector options.</param>
    /// <param name="npgsqlOptions">The Npgsql settings (the application's data-source configuration action).</param>
    /// <param name="loggerFactory">The application's logger factory, for the connector's and Npgsql's logs (the first one given for the options is kept).</param>
    public virtual NpgsqlDataSource GetDataSource(DsqlConnectionOptions options, NpgsqlOptionsExtension? npgsqlOptions, ILoggerFactory? loggerFactory = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);

        // Lazy: two threads racing on the first use must not build (and leak) two pools.
        // The connector's options compare credentials by reference; fixed credentials are keyed by value instead.
        return _dataSources.GetOrAdd(
            (options.WithCredentials(null), DsqlCredentialIdentity.Of(options.Credentials)),
            static (_, state) => new Lazy<NpgsqlDataSource>(() => state.Manager.Create(state.Options, state.Npgsql, state.LoggerFactory)),
            (Manager: this, Options: options, Npgsql: npgsqlOptions, LoggerFactory: loggerFactory)).Value;
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
