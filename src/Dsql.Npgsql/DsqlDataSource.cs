namespace Dsql.Npgsql;

/// <summary>
/// Creates ordinary <see cref="NpgsqlDataSource"/>s that authenticate to Amazon Aurora DSQL with a fresh IAM token for
/// every physical connection and pool with DSQL-safe settings.
/// </summary>
/// <example>
/// <code>
/// await using var dataSource = DsqlDataSource.Create("abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws");
/// await using var connection = await dataSource.OpenConnectionAsync();
/// </code>
/// </example>
public static class DsqlDataSource
{
    /// <summary>Creates a data source from a cluster endpoint, a cluster ID, a URI or a keyword connection string.</summary>
    /// <param name="hostClusterIdOrConnectionString">See <see cref="DsqlConnectionOptions.Parse"/>.</param>
    /// <param name="region">The region, when it cannot be read from the host.</param>
    /// <returns>The data source; dispose it when done.</returns>
    public static NpgsqlDataSource Create(string hostClusterIdOrConnectionString, string? region = null)
        => CreateBuilder(hostClusterIdOrConnectionString, region).Build();

    /// <summary>Creates a data source from options.</summary>
    /// <param name="options">The options.</param>
    /// <returns>The data source; dispose it when done.</returns>
    public static NpgsqlDataSource Create(DsqlConnectionOptions options) => CreateBuilder(options).Build();

    /// <summary>Creates a builder configured for DSQL, for full control (type mappings, logging, certificates…) before <c>Build()</c>.</summary>
    /// <param name="hostClusterIdOrConnectionString">See <see cref="DsqlConnectionOptions.Parse"/>.</param>
    /// <param name="region">The region, when it cannot be read from the host.</param>
    /// <returns>The builder.</returns>
    public static NpgsqlDataSourceBuilder CreateBuilder(string hostClusterIdOrConnectionString, string? region = null)
        => CreateBuilder(DsqlConnectionOptions.Parse(hostClusterIdOrConnectionString, region));

    /// <summary>Creates a builder configured for DSQL, for full control before <c>Build()</c>.</summary>
    /// <param name="options">The options.</param>
    /// <returns>The builder.</returns>
    public static NpgsqlDataSourceBuilder CreateBuilder(DsqlConnectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new NpgsqlDataSourceBuilder().UseDsqlAuthentication(options);
    }
}
