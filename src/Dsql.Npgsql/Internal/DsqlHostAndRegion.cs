namespace Dsql.Npgsql.Internal;

/// <summary>
/// Reads the host and region of <see cref="DsqlConnectionOptions"/>: normalises the host, expands a cluster ID, takes the
/// region from a DSQL endpoint, the caller, the connection string or the AWS environment, and refuses contradictions
/// with a message that says how to fix them.
/// </summary>
internal static class DsqlHostAndRegion
{
    public static string? ExplicitRegion(string? argument, string? fromString)
    {
        var fromArgument = string.IsNullOrWhiteSpace(argument) ? null : ValidateRegion(argument, "region", "the region argument");
        var inString = string.IsNullOrWhiteSpace(fromString) ? null : ValidateRegion(fromString, "region", "the connection string's region");
        if (fromArgument is not null && inString is not null && fromArgument != inString)
        {
            throw new ArgumentException(
                $"The region argument '{fromArgument}' contradicts the connection string's region '{inString}'; give only one, or make them agree.",
                "region");
        }

        return fromArgument ?? inString;
    }

    public static (string Host, string Region) Resolve(string? rawHost, string? explicitRegion, string? profile)
    {
        if (string.IsNullOrWhiteSpace(rawHost))
        {
            throw new ArgumentException(
                "The DSQL host is empty. Pass a cluster endpoint ('abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws'), a 26-character cluster ID with a region, or set Host=... in the connection string.",
                "hostClusterIdOrConnectionString");
        }

        var host = NormalizeHost(rawHost);
        if (DsqlEndpoint.TryGetRegion(host, out var hostRegion))
        {
            if (!DsqlEndpoint.IsRegionName(hostRegion))
            {
                throw new ArgumentException(
                    $"The endpoint '{host}' names the region '{hostRegion}', which is not an AWS region name (like 'us-east-1'). Check the endpoint.",
                    "hostClusterIdOrConnectionString");
            }

            if (explicitRegion is not null && explicitRegion != hostRegion)
            {
                throw Conflict(host, hostRegion, explicitRegion, "region");
            }

            return (host, hostRegion);
        }

        var isClusterId = DsqlEndpoint.IsClusterId(host);
        var region = explicitRegion ?? EnvironmentRegion(profile);
        if (region is null)
        {
            throw new ArgumentException(
                isClusterId
                    ? $"The cluster ID '{host}' needs a region to form its endpoint, and none was found. Pass region: \"us-east-1\" (or Region=... / ?region=...), set AWS_REGION or AWS_DEFAULT_REGION, or configure a region for the AWS profile '{AwsEnvironment.EffectiveProfileName(profile)}'."
                    : $"The host '{host}' is not a DSQL endpoint (<id>.dsql.<region>.on.aws), so the region to sign tokens for cannot be read from it, and none was found. Pass region: \"us-east-1\" (or Region=... / ?region=...), set AWS_REGION or AWS_DEFAULT_REGION, or configure a region for the AWS profile '{AwsEnvironment.EffectiveProfileName(profile)}'.",
                "region");
        }

        return (isClusterId ? DsqlEndpoint.HostFor(host, region) : host, region);
    }

    public static string? EnvironmentRegion(string? profile)
    {
        if (AwsEnvironment.FindRegion(profile) is not { } found)
        {
            return null;
        }

        return ValidateRegion(found.Region, "region", found.Source);
    }

    public static string NormalizeHost(string host)
    {
        try
        {
            return DsqlAuthTokenGenerator.NormalizeHostname(host);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException(e.Message, "hostClusterIdOrConnectionString", e);
        }
    }

    public static string ValidateRegion(string region, string parameter, string source)
    {
        var value = region.Trim();
        if (!DsqlEndpoint.IsRegionName(value))
        {
            throw new ArgumentException(
                $"'{region}' (from {source}) is not an AWS region name. Use a region code such as 'us-east-1' or 'eu-west-2'.", parameter);
        }

        return value;
    }

    public static ArgumentException Conflict(string host, string hostRegion, string region, string parameter)
        => new(
            $"The endpoint '{host}' is in region '{hostRegion}', but region '{region}' was given; a token signed for another region is refused. Remove the region or make it '{hostRegion}'.",
            parameter);
}
