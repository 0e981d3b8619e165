using System.Collections.Concurrent;

namespace Dsql.Npgsql;

/// <summary>
/// One-line connection opening (the Python connector's <c>connect()</c>): returns an open <see cref="NpgsqlConnection"/>
/// authenticated with a fresh IAM token.
/// </summary>
/// <remarks>
/// Like <c>new NpgsqlConnection(connectionString)</c>, connections come from a process-wide pool per distinct
/// <see cref="DsqlConnectionOptions"/> (set <c>Pooling=false</c> for a dedicated physical connection). Disposing the
/// connection returns it to the pool. Applications that open many connections should prefer one
/// <see cref="DsqlDataSource"/> they own.
/// </remarks>
public static class DsqlConnection
{
    private static readonly ConcurrentDictionary<DsqlConnectionOptions, Lazy<NpgsqlDataSource>> DataSources = new();

    /// <summary>Opens a connection.</summary>
    /// <param name="hostClusterIdOrConnectionString">See <see cref="DsqlConnectionOptions.Parse"/>.</param>
    /// <param name="region">The region, when it cannot be read from the host.</param>
    /// <returns>The open connection; dispose it when done.</returns>
    public static NpgsqlConnection Open(string hostClusterIdOrConnectionString, string? region = null)
        => Open(DsqlConnectionOptions.Parse(hostClusterIdOrConnectionString, region));

    /// <summary>Opens a connection.</summary>
    /// <param name="options">The options.</param>
    /// <returns>The open connection; dispose it when done.</returns>
    public static NpgsqlConnection Open(DsqlConnectionOptions options) => DataSourceFor(options).OpenConnection();

    /// <summary>Opens a connection asynchronously.</summary>
    /// <param name="hostClusterIdOrConnectionString">See <see cref="DsqlConnectionOptions.Parse"/>.</param>
    /// <param name="region">The region, when it cannot be read from the host.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>The open connection; dispose it when done.</returns>
    public static Task<NpgsqlConnection> OpenAsync(string hostClusterIdOrConnectionString, string? region = null, CancellationToken cancellationToken = default)
        => OpenAsync(DsqlConnectionOptions.Parse(hostClusterIdOrConnectionString, region), cancellationToken);

    /// <summary>Opens a connection asynchronously.</summary>
    /// <param name="options">The options.</param>
    /// <param name="cancellationToken">Cancels the open.</param>
    /// <returns>The open connection; dispose it when done.</returns>
    public static async Task<NpgsqlConnection> OpenAsync(DsqlConnectionOptions options, CancellationToken cancellationToken = default)
        => await DataSourceFor(options).OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    private static NpgsqlDataSource DataSourceFor(DsqlConnectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // Lazy so that concurrent first opens build one data source; a failed build is not cached.
        var lazy = DataSources.GetOrAdd(options, static o => new Lazy<NpgsqlDataSource>(() => DsqlDataSource.Create(o)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            DataSources.TryRemove(KeyValuePair.Create(options, lazy));
            throw;
        }
    }
}
