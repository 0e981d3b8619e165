using Amazon.Extensions.NETCore.Setup;
using Dsql.Npgsql;

// ReSharper disable once CheckNamespace
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers an IAM-authenticated Aurora DSQL <see cref="NpgsqlDataSource"/> in a service collection.</summary>
public static class DsqlServiceCollectionExtensions
{
    /// <summary>
    /// Registers an <see cref="NpgsqlDataSource"/> for an Aurora DSQL cluster exactly as Npgsql's <c>AddNpgsqlDataSource</c>
    /// does (<see cref="NpgsqlDataSource"/> and <see cref="System.Data.Common.DbDataSource"/> as singletons,
    /// <see cref="NpgsqlConnection"/> and <see cref="System.Data.Common.DbConnection"/> per <paramref name="connectionLifetime"/>,
    /// optionally keyed), with IAM authentication. AWS settings the string leaves open (region for a cluster ID,
    /// credentials or profile) come from an <see cref="AWSOptions"/> registered in the container
    /// (<c>services.AddDefaultAWSOptions(builder.Configuration.GetAWSOptions())</c>), and the connector and Npgsql log
    /// through the container's <see cref="ILoggerFactory"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="hostClusterIdOrConnectionString">A cluster endpoint, a cluster ID, a URI or a keyword string without a password (see <see cref="DsqlConnectionOptions.Parse"/>).</param>
    /// <param name="configure">More configuration of the data source builder (type mappings, Npgsql settings…), applied last.</param>
    /// <param name="connectionLifetime">The lifetime of the registered connections.</param>
    /// <param name="dataSourceLifetime">The lifetime of the data source.</param>
    /// <param name="serviceKey">A key to register the services under, for several clusters in one container.</param>
    /// <returns>The same collection.</returns>
    /// <exception cref="ArgumentException">The string is empty (the rest is checked when the data source is first resolved).</exception>
    public static IServiceCollection AddDsqlDataSource(
        this IServiceCollection services,
        string hostClusterIdOrConnectionString,
        Action<NpgsqlDataSourceBuilder>? configure = null,
        ServiceLifetime connectionLifetime = ServiceLifetime.Transient,
        ServiceLifetime dataSourceLifetime = ServiceLifetime.Singleton,
        object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(hostClusterIdOrConnectionString);
        return services.AddDsqlDataSource(
            sp => AwsOptionsDefaults.Parse(hostClusterIdOrConnectionString, sp.GetService<AWSOptions>()),
            configure,
            connectionLifetime,
            dataSourceLifetime,
            serviceKey);
    }

    /// <summary>
    /// Registers an <see cref="NpgsqlDataSource"/> for connector options, as
    /// <see cref="AddDsqlDataSource(IServiceCollection, string, Action{NpgsqlDataSourceBuilder}?, ServiceLifetime, ServiceLifetime, object?)"/>
    /// does; the options are used as given (call <see cref="DsqlAwsOptionsExtensions.WithAwsOptions"/> to merge an <see cref="AWSOptions"/>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="options">The connection options.</param>
    /// <param name="configure">More configuration of the data source builder, applied last.</param>
    /// <param name="connectionLifetime">The lifetime of the registered connections.</param>
    /// <param name="dataSourceLifetime">The lifetime of the data source.</param>
    /// <param name="serviceKey">A key to register the services under.</param>
    /// <returns>The same collection.</returns>
    public static IServiceCollection AddDsqlDataSource(
        this IServiceCollection services,
        DsqlConnectionOptions options,
        Action<NpgsqlDataSourceBuilder>? configure = null,
        ServiceLifetime connectionLifetime = ServiceLifetime.Transient,
        ServiceLifetime dataSourceLifetime = ServiceLifetime.Singleton,
        object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        return services.AddDsqlDataSource(_ => options, configure, connectionLifetime, dataSourceLifetime, serviceKey);
    }

    private static IServiceCollection AddDsqlDataSource(
        this IServiceCollection services,
        Func<IServiceProvider, DsqlConnectionOptions> options,
        Action<NpgsqlDataSourceBuilder>? configure,
        ServiceLifetime connectionLifetime,
        ServiceLifetime dataSourceLifetime,
        object? serviceKey)
        // Npgsql's registration (data source, DbDataSource, connections, keyed variants, its logger factory wiring);
        // the connection string is empty because UseDsqlAuthentication fills in host, port, role and database.
        => services.AddNpgsqlDataSource(
            "",
            (sp, builder) =>
            {
                builder.UseDsqlAuthentication(options(sp), sp.GetService<ILoggerFactory>());
                configure?.Invoke(builder);
            },
            connectionLifetime,
            dataSourceLifetime,
            serviceKey);
}
