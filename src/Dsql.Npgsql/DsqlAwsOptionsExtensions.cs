using Amazon.Extensions.NETCore.Setup;

namespace Dsql.Npgsql;

/// <summary>
/// Takes AWS settings from the AWS SDK's <see cref="AWSOptions"/> (<c>builder.Configuration.GetAWSOptions()</c>, or the
/// instance registered with <c>services.AddDefaultAWSOptions(...)</c>), so the application configures AWS once.
/// </summary>
public static class DsqlAwsOptionsExtensions
{
    /// <summary>
    /// Returns a copy taking from <paramref name="awsOptions"/> what these options leave open: its credentials, else its
    /// profile, when the options have neither; its region for a host that is not a DSQL endpoint (a DSQL endpoint's own
    /// region always wins). <c>AWSOptions.ProfilesLocation</c> is not read: set <c>AWS_SHARED_CREDENTIALS_FILE</c> instead.
    /// </summary>
    /// <param name="options">The connection options.</param>
    /// <param name="awsOptions">The AWS SDK's options.</param>
    /// <returns>The changed copy.</returns>
    public static DsqlConnectionOptions WithAwsOptions(this DsqlConnectionOptions options, AWSOptions awsOptions)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(awsOptions);
        var withCredentials = AwsOptionsDefaults.ApplyIdentity(options, awsOptions);
        return !withCredentials.IsDsqlEndpoint && awsOptions.Region is { } region ? withCredentials.WithRegion(region.SystemName) : withCredentials;
    }

    /// <summary>
    /// Reads a cluster endpoint, cluster ID, URI or keyword string like <see cref="DsqlConnectionOptions.Parse"/>, with
    /// <paramref name="awsOptions"/> supplying the region when the string names none (so a cluster ID works with
    /// <c>AWS:Region</c> configured), and the credentials or profile when the string gives no profile.
    /// </summary>
    /// <param name="awsOptions">The AWS SDK's options.</param>
    /// <param name="hostClusterIdOrConnectionString">See <see cref="DsqlConnectionOptions.Parse"/>.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ArgumentException">A value is empty, invalid, contradictory or missing (the message says which and how to fix it).</exception>
    public static DsqlConnectionOptions ParseDsqlConnectionOptions(this AWSOptions awsOptions, string hostClusterIdOrConnectionString)
    {
        ArgumentNullException.ThrowIfNull(awsOptions);
        ArgumentNullException.ThrowIfNull(hostClusterIdOrConnectionString);
        return AwsOptionsDefaults.Parse(hostClusterIdOrConnectionString, awsOptions);
    }
}
