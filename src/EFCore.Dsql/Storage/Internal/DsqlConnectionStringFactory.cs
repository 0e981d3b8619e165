using System.Data.Common;
using System.Text.RegularExpressions;
using Npgsql;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>
/// Turns what the application passed to <c>UseAuroraDsql</c> (an endpoint, a cluster ID or a connection string) into a
/// Npgsql connection string with DSQL-safe defaults, and works out the AWS region.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public static partial class DsqlConnectionStringFactory
{
    /// <summary>Builds the connection string. Settings in a supplied connection string win over the defaults.</summary>
    /// <param name="source">An endpoint, a 26-character cluster ID, or a Npgsql connection string.</param>
    /// <param name="region">The AWS region, or <see langword="null"/> to infer it from the endpoint.</param>
    /// <returns>The connection string (no password), the endpoint and the region.</returns>
    public static (string ConnectionString, string Host, string Region) Build(string source, string? region)
    {
        if (string.IsNullOrWhiteSpace(source))
        {
            throw new ArgumentException(DsqlStrings.EmptyConnectionSource, nameof(source));
        }

        var userSettings = new DbConnectionStringBuilder();
        if (source.Contains('='))
        {
            userSettings.ConnectionString = source;
        }
        else
        {
            userSettings["Host"] = source.Trim();
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Port = 5432,
            Database = "postgres",
            Username = "admin",
            NoResetOnClose = true, // DSQL refuses DISCARD ALL
            ConnectionLifetime = 3300, // DSQL ends connections after 1 hour
            ConnectionIdleLifetime = 600,
            Enlist = false, // no PREPARE TRANSACTION
        };

        foreach (string key in userSettings.Keys)
        {
            builder[key] = userSettings[key];
        }

        if (!string.IsNullOrEmpty(builder.Password))
        {
            throw new ArgumentException(DsqlStrings.PasswordNotAllowed, nameof(source));
        }

        if (!ContainsKey(userSettings, "SSL Mode", "SslMode"))
        {
            builder.SslMode = SslMode.VerifyFull;
            builder.SslNegotiation = SslNegotiation.Direct;
        }

        var host = builder.Host;
        if (string.IsNullOrWhiteSpace(host))
        {
            throw new ArgumentException(DsqlStrings.EmptyConnectionSource, nameof(source));
        }

        if (ClusterId().IsMatch(host))
        {
            if (string.IsNullOrWhiteSpace(region))
            {
                throw new ArgumentException(DsqlStrings.RegionRequired(host), nameof(region));
            }

            host = $"{host}.dsql.{region}.on.aws";
            builder.Host = host;
        }

        var resolvedRegion = region ?? RegionFromHost(host) ?? throw new ArgumentException(DsqlStrings.RegionRequired(host), nameof(region));
        return (builder.ConnectionString, host, resolvedRegion);
    }

    /// <summary>The region in an endpoint such as <c>id.dsql.us-east-1.on.aws</c> or <c>id.dsql-fnh4.us-east-1.on.aws</c>.</summary>
    /// <param name="host">The endpoint.</param>
    public static string? RegionFromHost(string host)
        => EndpointRegion().Match(host) is { Success: true } match ? match.Groups[1].Value : null;

    private static bool ContainsKey(DbConnectionStringBuilder builder, params string[] keys)
        => keys.Any(k => builder.Keys.Cast<string>().Any(existing => string.Equals(existing.Replace(" ", ""), k.Replace(" ", ""), StringComparison.OrdinalIgnoreCase)));

    [GeneratedRegex(@"^[a-z0-9]{26}$")]
    private static partial Regex ClusterId();

    [GeneratedRegex(@"\.dsql[^.]*\.([^.]+)\.on\.aws$", RegexOptions.IgnoreCase)]
    private static partial Regex EndpointRegion();
}
