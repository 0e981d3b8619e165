using Amazon.Extensions.NETCore.Setup;

namespace Dsql.Npgsql.Internal;

/// <summary>How an <see cref="AWSOptions"/> fills in what a connection string leaves open.</summary>
internal static class AwsOptionsDefaults
{
    internal static DsqlConnectionOptions Parse(string hostClusterIdOrConnectionString, AWSOptions? awsOptions)
    {
        var options = DefaultRegion.Parse(hostClusterIdOrConnectionString, awsOptions?.Region?.SystemName);
        return awsOptions is null ? options : ApplyIdentity(options, awsOptions);
    }

    // AWSOptions' own precedence: its credentials win over its profile. Credentials or a profile the options name win over both.
    internal static DsqlConnectionOptions ApplyIdentity(DsqlConnectionOptions options, AWSOptions awsOptions)
    {
        if (options.Credentials is not null || options.Profile is not null)
        {
            return options;
        }

        return awsOptions.Credentials is { } credentials ? options.WithCredentials(credentials)
            : !string.IsNullOrWhiteSpace(awsOptions.Profile) ? options.WithProfile(awsOptions.Profile)
            : options;
    }
}
