namespace Dsql.Npgsql.Internal;

/// <summary>
/// Applies a region that is only a default (AWS's <c>AWSOptions.Region</c>, the configuration's <c>AWS:Region</c>): it
/// fills in for a cluster ID or a non-DSQL host, and never contradicts a region the string names itself (a DSQL
/// endpoint's own region or a <c>region=</c> setting), just as an AWS SDK client's configured region never overrides an
/// explicit endpoint.
/// </summary>
internal static class DefaultRegion
{
    internal static DsqlConnectionOptions Parse(string hostClusterIdOrConnectionString, string? defaultRegion)
    {
        if (string.IsNullOrWhiteSpace(defaultRegion))
        {
            return DsqlConnectionOptions.Parse(hostClusterIdOrConnectionString);
        }

        var parsed = ConnectionStringParser.Parse(hostClusterIdOrConnectionString);
        var namesRegion = !string.IsNullOrWhiteSpace(parsed.Region)
            || (parsed.Host is { } host && DsqlEndpoint.TryGetRegion(host.Trim().ToLowerInvariant(), out _));
        return DsqlConnectionOptions.Parse(hostClusterIdOrConnectionString, namesRegion ? null : defaultRegion.Trim());
    }
}
