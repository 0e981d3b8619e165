using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Microsoft.EntityFrameworkCore.Dsql.Design.Internal;

/// <summary>
/// Where <c>dotnet ef</c> connects at design time, read like the application's host reads its configuration. First the
/// factory's own arguments after <c>--</c> (<c>--endpoint</c>, <c>--region</c>, <c>--profile</c>, <c>--user</c>), then
/// the configuration (<c>appsettings*.json</c>, user secrets, environment variables, the other arguments):
/// <c>DSQL_ENDPOINT</c>, else <c>ConnectionStrings:&lt;name&gt;</c>; <c>AWS:Region</c> and <c>AWS:Profile</c> (the
/// section <c>GetAWSOptions()</c> reads); <c>DSQL_USER</c>. A region the endpoint names itself always wins.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed class DsqlDesignTimeSettings
{
    /// <summary>The configuration key (and environment variable) naming the cluster (endpoint, cluster ID, URI or keyword string).</summary>
    public const string EndpointVariable = "DSQL_ENDPOINT";

    /// <summary>The configuration key (and environment variable) naming the database role.</summary>
    public const string UserVariable = "DSQL_USER";

    private static readonly string[] Options = ["--endpoint", "--region", "--profile", "--user"];

    /// <summary>A cluster endpoint, a cluster ID, a <c>postgresql://</c> URI or a keyword connection string.</summary>
    public string? Endpoint { get; private init; }

    /// <summary>Where <see cref="Endpoint"/> came from, for messages (never its value).</summary>
    public string? EndpointSource { get; private init; }

    /// <summary>The region given with <c>--region</c>; it must agree with a region the endpoint names.</summary>
    public string? Region { get; private init; }

    /// <summary>The configuration's default region (<c>AWS:Region</c>), used only when the endpoint names none.</summary>
    public string? DefaultRegion { get; private init; }

    /// <summary>The AWS profile; <see langword="null"/> for the default credential chain.</summary>
    public string? Profile { get; private init; }

    /// <summary>The database role; <see langword="null"/> for the endpoint string's role or <c>admin</c>.</summary>
    public string? User { get; private init; }

    /// <summary>The connection string names that were looked up under <c>ConnectionStrings</c>, for messages.</summary>
    public IReadOnlyList<string> ConnectionStringNames { get; private init; } = [];

    /// <summary>
    /// Splits the arguments after <c>--</c> into the factory's own options and the rest, which the host would read as
    /// command-line configuration (<c>--ConnectionStrings:Shop=…</c>, <c>--DSQL_ENDPOINT …</c>).
    /// </summary>
    /// <param name="args">The arguments <c>dotnet ef</c> passes after <c>--</c>.</param>
    /// <param name="contextName">The context's name, for messages.</param>
    /// <returns>The factory's options (lower-case names) and the remaining arguments.</returns>
    /// <exception cref="ArgumentException">An option of the factory is repeated or has no value.</exception>
    public static (IReadOnlyDictionary<string, string> Options, string[] Remaining) SplitArguments(IReadOnlyList<string>? args, string contextName)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var rest = new List<string>();
        args ??= [];
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = (equals < 0 ? arg : arg[..equals]).ToLowerInvariant();
            if (!Options.Contains(name))
            {
                rest.Add(arg);
                continue;
            }

            string? value;
            if (equals >= 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else
            {
                value = null;
            }

            if (string.IsNullOrWhiteSpace(value))
            {
                throw new ArgumentException(
                    $"The design-time argument '{name}' needs a value (context '{contextName}'), for example '{name} {Example(name)}'.", nameof(args));
            }

            if (!values.TryAdd(name, value.Trim()))
            {
                throw new ArgumentException($"The design-time argument '{name}' is given more than once; give it once.", nameof(args));
            }
        }

        return (values, rest.ToArray());
    }

    /// <summary>Reads the settings; the factory's arguments win over the configuration.</summary>
    /// <param name="options">The factory's own arguments, from <see cref="SplitArguments"/>.</param>
    /// <param name="configuration">The configuration, built as the host builds it.</param>
    /// <param name="connectionStringNames">The names to look up under <c>ConnectionStrings</c>, in order.</param>
    public static DsqlDesignTimeSettings Read(
        IReadOnlyDictionary<string, string> options, IConfiguration configuration, IReadOnlyList<string> connectionStringNames)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(connectionStringNames);

        var (endpoint, source) = options.GetValueOrDefault("--endpoint") is { } fromArgument
            ? (fromArgument, "--endpoint")
            : NonEmpty(configuration[EndpointVariable]) is { } fromVariable
                ? (fromVariable, EndpointVariable)
                : FindConnectionString(configuration, connectionStringNames);

        return new DsqlDesignTimeSettings
        {
            Endpoint = endpoint,
            EndpointSource = source,
            Region = options.GetValueOrDefault("--region"),
            DefaultRegion = NonEmpty(configuration["AWS:Region"]),
            Profile = options.GetValueOrDefault("--profile") ?? NonEmpty(configuration["AWS:Profile"]),
            User = options.GetValueOrDefault("--user") ?? NonEmpty(configuration[UserVariable]),
            ConnectionStringNames = connectionStringNames,
        };
    }

    /// <summary>Builds the connector options, or explains what is missing.</summary>
    /// <param name="contextName">The context's name, for messages.</param>
    /// <exception cref="InvalidOperationException">No endpoint was given.</exception>
    /// <exception cref="ArgumentException">The endpoint, region or user is invalid (the connector's message says how to fix it).</exception>
    public DsqlConnectionOptions ToConnectionOptions(string contextName)
    {
        if (Endpoint is null)
        {
            throw new InvalidOperationException(MissingEndpointMessage(contextName, ConnectionStringNames));
        }

        var options = Region is not null ? DsqlConnectionOptions.Parse(Endpoint, Region) : global::Dsql.Npgsql.Internal.DefaultRegion.Parse(Endpoint, DefaultRegion);
        if (Profile is not null)
        {
            options = options.WithProfile(Profile);
        }

        if (User is not null)
        {
            options = options.WithUsername(User);
        }

        return options;
    }

    /// <summary>Explains how to give the cluster.</summary>
    /// <param name="contextName">The context's name.</param>
    /// <param name="connectionStringNames">The connection string names that were looked up.</param>
    public static string MissingEndpointMessage(string contextName, IReadOnlyList<string> connectionStringNames)
        => string.Create(
            CultureInfo.InvariantCulture,
            $"""
             No Aurora DSQL cluster was given for '{contextName}' at design time, and this command connects to the database. Either pass it after '--':
               dotnet ef database update -- --endpoint <cluster-id>.dsql.<region>.on.aws [--region <region>] [--profile <aws-profile>] [--user <role>]
             or configure it as the application does (appsettings.json, user secrets or environment variables): {EndpointVariable}, or a connection string named {(connectionStringNames.Count == 0 ? "(none)" : string.Join(" or ", connectionStringNames.Select(n => $"'ConnectionStrings:{n}'")))}; optionally AWS:Region, AWS:Profile (or AWS_REGION, AWS_PROFILE) and {UserVariable}.
             The endpoint may also be a cluster ID (with a region), a postgresql:// URI or a keyword connection string without a password.
             """);

    /// <summary>Describes the settings without secrets (there are none: credentials come from AWS).</summary>
    public override string ToString()
        => $"endpoint from {EndpointSource ?? "(none)"}, region={Region ?? DefaultRegion ?? "(default)"}, profile={Profile ?? "(default)"}, user={User ?? "(default)"}";

    private static (string? Endpoint, string? Source) FindConnectionString(IConfiguration configuration, IReadOnlyList<string> names)
    {
        foreach (var name in names)
        {
            if (NonEmpty(configuration.GetConnectionString(name)) is { } value)
            {
                return (value, $"ConnectionStrings:{name}");
            }
        }

        return (null, null);
    }

    private static string Example(string name) => name switch
    {
        "--endpoint" => "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws",
        "--region" => "us-east-1",
        "--profile" => "default",
        _ => "admin",
    };

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
