using System.Globalization;
using Dsql.Npgsql;

namespace Microsoft.EntityFrameworkCore.Dsql.Design.Internal;

/// <summary>
/// Where <c>dotnet ef</c> connects at design time: read from the arguments after <c>--</c>
/// (<c>--endpoint</c>, <c>--region</c>, <c>--profile</c>, <c>--user</c>), falling back to the environment variables
/// <c>DSQL_ENDPOINT</c> and <c>DSQL_USER</c>. A region or profile not given as an argument is found the way the AWS SDK
/// finds it (the endpoint's own region, <c>AWS_REGION</c>, <c>AWS_DEFAULT_REGION</c>, <c>AWS_PROFILE</c>, the profile's region),
/// so a variable never contradicts an endpoint that names its region.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed class DsqlDesignTimeSettings
{
    /// <summary>The environment variable naming the cluster (endpoint, cluster ID, URI or keyword string).</summary>
    public const string EndpointVariable = "DSQL_ENDPOINT";

    /// <summary>The environment variable naming the database role.</summary>
    public const string UserVariable = "DSQL_USER";

    private static readonly string[] Options = ["--endpoint", "--region", "--profile", "--user"];

    /// <summary>A cluster endpoint, a cluster ID, a <c>postgresql://</c> URI or a keyword connection string.</summary>
    public string? Endpoint { get; private init; }

    /// <summary>The AWS region; <see langword="null"/> lets the connector read it from the endpoint or the environment.</summary>
    public string? Region { get; private init; }

    /// <summary>The AWS profile; <see langword="null"/> for the default credential chain.</summary>
    public string? Profile { get; private init; }

    /// <summary>The database role; <see langword="null"/> for the endpoint string's role or <c>admin</c>.</summary>
    public string? User { get; private init; }

    /// <summary>Reads the settings; arguments win over environment variables.</summary>
    /// <param name="args">The arguments <c>dotnet ef</c> passes after <c>--</c>.</param>
    /// <param name="environment">Reads an environment variable.</param>
    /// <param name="contextName">The context's name, for messages.</param>
    /// <exception cref="ArgumentException">An argument is unknown, repeated or has no value.</exception>
    public static DsqlDesignTimeSettings Read(IReadOnlyList<string>? args, Func<string, string?> environment, string contextName)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var given = ParseArguments(args ?? [], contextName);
        return new DsqlDesignTimeSettings
        {
            Endpoint = given.GetValueOrDefault("--endpoint") ?? NonEmpty(environment(EndpointVariable)),
            Region = given.GetValueOrDefault("--region"),
            Profile = given.GetValueOrDefault("--profile"),
            User = given.GetValueOrDefault("--user") ?? NonEmpty(environment(UserVariable)),
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
            throw new InvalidOperationException(MissingEndpointMessage(contextName));
        }

        var options = DsqlConnectionOptions.Parse(Endpoint, Region);
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
    public static string MissingEndpointMessage(string contextName)
        => string.Create(
            CultureInfo.InvariantCulture,
            $"""
             No Aurora DSQL cluster was given for '{contextName}' at design time, and this command connects to the database. Either pass it after '--':
               dotnet ef database update -- --endpoint <cluster-id>.dsql.<region>.on.aws [--region <region>] [--profile <aws-profile>] [--user <role>]
             or set the environment variable {EndpointVariable} (and optionally AWS_REGION, AWS_PROFILE, {UserVariable}).
             The endpoint may also be a cluster ID (with a region), a postgresql:// URI or a keyword connection string without a password.
             """);

    /// <summary>Describes the settings without secrets (there are none: credentials come from AWS).</summary>
    public override string ToString()
        => $"endpoint={Endpoint ?? "(none)"}, region={Region ?? "(default)"}, profile={Profile ?? "(default)"}, user={User ?? "(default)"}";

    private static Dictionary<string, string> ParseArguments(IReadOnlyList<string> args, string contextName)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = (equals < 0 ? arg : arg[..equals]).ToLowerInvariant();
            if (!Options.Contains(name))
            {
                throw new ArgumentException(
                    $"Unknown design-time argument '{Redact(arg)}' for '{contextName}'. The Aurora DSQL design-time factory accepts {string.Join(", ", Options)} (each followed by a value), for example: dotnet ef database update -- --endpoint <cluster-id>.dsql.us-east-1.on.aws",
                    nameof(args));
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
                throw new ArgumentException($"The design-time argument '{name}' needs a value, for example '{name} {Example(name)}'.", nameof(args));
            }

            if (!values.TryAdd(name, value.Trim()))
            {
                throw new ArgumentException($"The design-time argument '{name}' is given more than once; give it once.", nameof(args));
            }
        }

        return values;
    }

    private static string Example(string name) => name switch
    {
        "--endpoint" => "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws",
        "--region" => "us-east-1",
        "--profile" => "default",
        _ => "admin",
    };

    // An unknown argument could be a mistyped secret; show only its name.
    private static string Redact(string arg) => arg.Contains('=', StringComparison.Ordinal) ? arg[..arg.IndexOf('=', StringComparison.Ordinal)] + "=…" : arg.StartsWith("--", StringComparison.Ordinal) ? arg : "(a value)";

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
