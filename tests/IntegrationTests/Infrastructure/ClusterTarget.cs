using System.Globalization;

namespace EFCore.Dsql.IntegrationTests.Infrastructure;

/// <summary>
/// The cluster the suite runs against, from the environment: <c>CLUSTER_ENDPOINT</c> (a cluster endpoint, a cluster ID,
/// or any connection string <see cref="DsqlConnectionOptions.Parse"/> accepts), optionally <c>CLUSTER_TUNNEL</c>
/// (<c>host:port</c> where TCP connections go instead, tokens still being signed for the cluster's name: an SSH port
/// forward, or Dsql.Local started with <c>--endpoint &lt;cluster host&gt;</c>) and <c>CLUSTER_IAM_ARN</c> (the IAM
/// identity of these credentials, for the non-admin role test). Credentials come from the AWS default chain.
/// </summary>
public sealed class ClusterTarget
{
    /// <summary>The variable naming the cluster.</summary>
    public const string EndpointVariable = "CLUSTER_ENDPOINT";

    /// <summary>The variable naming where TCP connections go instead of the cluster's address.</summary>
    public const string TunnelVariable = "CLUSTER_TUNNEL";

    /// <summary>The variable naming the IAM identity a non-admin role is mapped to.</summary>
    public const string IamArnVariable = "CLUSTER_IAM_ARN";

    private static readonly Lazy<ClusterTarget> FromEnvironment = new(Read);

    private ClusterTarget(string endpoint, DsqlConnectionOptions options, (string Host, int Port)? tunnel, string? iamArn)
    {
        Endpoint = endpoint;
        Options = options;
        Tunnel = tunnel;
        IamArn = iamArn;
    }

    /// <summary>The target named by the environment.</summary>
    /// <exception cref="InvalidOperationException"><c>CLUSTER_ENDPOINT</c> is not set or not valid.</exception>
    public static ClusterTarget Current => FromEnvironment.Value;

    /// <summary>What <c>CLUSTER_ENDPOINT</c> says, as given.</summary>
    public string Endpoint { get; }

    /// <summary>The admin options parsed from <c>CLUSTER_ENDPOINT</c>.</summary>
    public DsqlConnectionOptions Options { get; }

    /// <summary>Where TCP connections go instead of <see cref="DsqlConnectionOptions.Host"/>, if anywhere.</summary>
    public (string Host, int Port)? Tunnel { get; }

    /// <summary>The IAM identity of the credentials (<c>CLUSTER_IAM_ARN</c>), if given.</summary>
    public string? IamArn { get; }

    /// <summary>The cluster's host name is a DSQL endpoint (<c>&lt;id&gt;.dsql.&lt;region&gt;.on.aws</c>).</summary>
    public bool HasClusterHostName => Options.IsDsqlEndpoint;

    /// <summary>Why the forms that start from a cluster's host name or ID cannot reach this target, or null when they can.</summary>
    public string? WhyNoClusterHostName => HasClusterHostName ? null :
        $"{EndpointVariable} names the host '{Options.Host}', not a DSQL cluster endpoint (<cluster-id>.dsql.<region>.on.aws), so " +
        $"the endpoint and cluster-ID forms would sign tokens for and connect to a host that is not this target. To cover them " +
        $"with Dsql.Local, start it with --endpoint <cluster-id>.dsql.<region>.on.aws and set {EndpointVariable} to that name and " +
        $"{TunnelVariable} to 127.0.0.1:<port>.";

    /// <summary>The target, for messages and summary lines: host, region and tunnel, never a secret.</summary>
    public string Description => $"{Options.Host}:{Options.Port} ({Options.Region})" + (Tunnel is { } t ? $" through {t.Host}:{t.Port}" : "");

    /// <summary>
    /// A data source builder for <paramref name="options"/> exactly as <see cref="DsqlDataSource.CreateBuilder(DsqlConnectionOptions)"/>
    /// makes it, then pointed at the tunnel when there is one.
    /// </summary>
    public NpgsqlDataSourceBuilder CreateBuilder(DsqlConnectionOptions options) => Redirect(DsqlDataSource.CreateBuilder(options));

    /// <summary>A data source for a connection form (a string <see cref="DsqlDataSource.Create(string, string?)"/> accepts), through the tunnel when there is one.</summary>
    public NpgsqlDataSource CreateDataSource(string form, string? region = null) => Redirect(DsqlDataSource.CreateBuilder(form, region)).Build();

    /// <summary>A data source for <paramref name="options"/> (admin options of the target by default).</summary>
    public NpgsqlDataSource CreateDataSource(DsqlConnectionOptions? options = null, Action<NpgsqlConnectionStringBuilder>? configure = null)
    {
        var builder = CreateBuilder(options ?? Options);
        configure?.Invoke(builder.ConnectionStringBuilder);
        return builder.Build();
    }

    /// <summary>
    /// Sends the builder's TCP connections through the tunnel. The token provider keeps signing for the cluster's name;
    /// TLS is required but not verified against the tunnel's address, and negotiated the PostgreSQL way (Dsql.Local has
    /// no direct TLS).
    /// </summary>
    public NpgsqlDataSourceBuilder Redirect(NpgsqlDataSourceBuilder builder)
    {
        if (Tunnel is { } tunnel)
        {
            builder.ConnectionStringBuilder.Host = tunnel.Host;
            builder.ConnectionStringBuilder.Port = tunnel.Port;
            builder.ConnectionStringBuilder.SslMode = SslMode.Require;
            builder.ConnectionStringBuilder.SslNegotiation = SslNegotiation.Postgres;
        }

        return builder;
    }

    private static ClusterTarget Read()
    {
        var endpoint = Environment.GetEnvironmentVariable(EndpointVariable);
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            throw new InvalidOperationException(
                $"{EndpointVariable} is not set. Set it to a cluster endpoint, a cluster ID (with AWS_REGION) or a connection string, " +
                "set AWS credentials, and run: bash scripts/test-cluster.sh");
        }

        var options = DsqlConnectionOptions.Parse(endpoint.Trim());
        (string, int)? tunnel = null;
        if (Environment.GetEnvironmentVariable(TunnelVariable) is { Length: > 0 } tunnelText)
        {
            var colon = tunnelText.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(tunnelText[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                throw new InvalidOperationException($"{TunnelVariable}='{tunnelText}' is not host:port, for example 127.0.0.1:5432.");
            }

            tunnel = (tunnelText[..colon], port);
        }

        var arn = Environment.GetEnvironmentVariable(IamArnVariable);
        return new ClusterTarget(endpoint.Trim(), options, tunnel, string.IsNullOrWhiteSpace(arn) ? null : arn.Trim());
    }
}
