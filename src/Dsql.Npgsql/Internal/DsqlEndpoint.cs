using System.Text.RegularExpressions;

namespace Dsql.Npgsql.Internal;

/// <summary>Recognises DSQL endpoints, bare cluster IDs and region names.</summary>
internal static partial class DsqlEndpoint
{
    /// <summary>The DNS suffix of every public and PrivateLink DSQL endpoint.</summary>
    internal const string Suffix = ".on.aws";

    /// <summary>A cluster endpoint: <c>{id}.dsql.{region}.on.aws</c> or a PrivateLink <c>{id}.dsql-xxxx.{region}.on.aws</c>.</summary>
    // The same expression AWS's connectors use; PrivateLink hosts carry a suffix after "dsql".
    [GeneratedRegex(@"\.dsql[^.]*\.([^.]+)\.on\.aws$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex EndpointRegex();

    [GeneratedRegex(@"^[a-z0-9]{26}$", RegexOptions.CultureInvariant)]
    private static partial Regex ClusterIdRegex();

    // us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-5, eusc-de-east-1 …
    [GeneratedRegex(@"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionRegex();

    /// <summary>Whether <paramref name="host"/> is a DSQL endpoint, and if so its region.</summary>
    internal static bool TryGetRegion(string host, out string region)
    {
        var match = EndpointRegex().Match(host);
        region = match.Success ? match.Groups[1].Value.ToLowerInvariant() : "";
        return match.Success;
    }

    /// <summary>The cluster ID of a DSQL endpoint whose first label is one, else <see langword="null"/>.</summary>
    internal static string? ClusterIdOf(string host)
    {
        if (!TryGetRegion(host, out _))
        {
            return null;
        }

        var dot = host.IndexOf('.', StringComparison.Ordinal);
        var label = host[..dot].ToLowerInvariant();
        return IsClusterId(label) ? label : null;
    }

    /// <summary>Whether <paramref name="value"/> is a bare cluster ID: 26 lowercase letters and digits.</summary>
    internal static bool IsClusterId(string value) => ClusterIdRegex().IsMatch(value);

    /// <summary>Whether <paramref name="value"/> looks like an AWS region name.</summary>
    internal static bool IsRegionName(string value) => RegionRegex().IsMatch(value);

    /// <summary>The public endpoint of a cluster.</summary>
    internal static string HostFor(string clusterId, string region) => $"{clusterId}.dsql.{region}{Suffix}";
}
