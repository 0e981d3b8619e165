using System.Runtime.CompilerServices;
using System.Text;
using Amazon;

namespace Dsql.Npgsql;

/// <summary>
/// Everything needed to open IAM-authenticated connections to an Amazon Aurora DSQL cluster: the endpoint, region, role,
/// database, how to obtain AWS credentials, the token lifetime, and any other Npgsql settings.
/// </summary>
/// <remarks>
/// <para>
/// Instances are immutable records: every <c>With…</c> method (or a <c>with</c> expression) returns a changed copy, and each
/// setting is checked where it is set. Two instances are equal when every setting is equal (<see cref="Credentials"/> and
/// <see cref="TimeProvider"/> by reference), so they can key caches such as EF Core's service-provider cache.
/// <see cref="ToString"/> never shows a secret.
/// </para>
/// <para>
/// Defaults: user <c>admin</c>, database <c>postgres</c>, port 5432, token lifetime 900 s. For DSQL endpoints
/// (<c>*.on.aws</c>) the connection uses <c>SSL Mode=VerifyFull</c> with direct TLS negotiation; every connection gets
/// <c>Connection Lifetime=3300</c>, <c>No Reset On Close=true</c> (DSQL refuses <c>DISCARD ALL</c>), <c>Enlist=false</c>
/// and an <c>Application Name</c> naming this connector. Each can be overridden.
/// </para>
/// </remarks>
public sealed record DsqlConnectionOptions
{
    /// <summary>The default database role: <c>admin</c>, which gets <c>DbConnectAdmin</c> tokens.</summary>
    public const string DefaultUsername = "admin";

    /// <summary>The default (and only) DSQL database: <c>postgres</c>.</summary>
    public const string DefaultDatabase = "postgres";

    /// <summary>The default port: 5432.</summary>
    public const int DefaultPort = 5432;

    private const string RoleExample = "the database role, for example 'admin'";
    private const string DatabaseExample = "'postgres'";

    // Keywords that are first-class options rather than pass-through settings.
    private static readonly string[] LiftedKeywords = ["SSL Mode", "Connection Lifetime", "Application Name"];
    private static readonly string[] IdentityKeywords = ["Host", "Port", "Username", "Database", "Password", "Passfile"];

    private readonly string _username = DefaultUsername;
    private readonly string _database = DefaultDatabase;
    private readonly int _port = DefaultPort;
    private readonly string? _profile;
    private readonly TimeSpan _tokenDuration = DefaultTokenDuration;
    private readonly ByReference<AWSCredentials> _credentials;
    private readonly ByReference<TimeProvider> _timeProvider;
    private readonly TimeSpan? _connectionLifetime;

    private DsqlConnectionOptions(string host, string region)
    {
        Host = host;
        Region = region;
    }

    /// <summary>The default token lifetime: 900 seconds.</summary>
    public static TimeSpan DefaultTokenDuration => DsqlAuthTokenGenerator.DefaultExpiresIn;

    /// <summary>The default pooled-connection lifetime: 3300 seconds, below DSQL's one-hour connection limit.</summary>
    public static TimeSpan DefaultConnectionLifetime { get; } = TimeSpan.FromSeconds(3300);

    /// <summary>The default <c>application_name</c>: this connector's name and version, for example <c>dsql-npgsql/0.1.0</c>.</summary>
    public static string DefaultApplicationName => ConnectorVersion.ApplicationName;

    /// <summary>The cluster endpoint (or, for a tunnel or emulator, any host name). Change it with <see cref="WithHost"/>.</summary>
    public string Host { get; private init; }

    /// <summary>The AWS region the tokens are signed for, for example <c>us-east-1</c>. Change it with <see cref="WithRegion"/>.</summary>
    public string Region { get; private init; }

    /// <summary>The database role; <c>admin</c> gets <c>DbConnectAdmin</c> tokens, every other role <c>DbConnect</c> tokens.</summary>
    /// <exception cref="ArgumentException">The role is empty.</exception>
    public string Username { get => _username; init => _username = ValidateName(value, "username", RoleExample); }

    /// <summary>The database; DSQL has only <c>postgres</c>.</summary>
    /// <exception cref="ArgumentException">The name is empty.</exception>
    public string Database { get => _database; init => _database = ValidateName(value, "database", DatabaseExample); }

    /// <summary>The TCP port, 1 to 65535.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a port.</exception>
    public int Port
    {
        get => _port;
        init => _port = value is >= 1 and <= 65535 ? value : throw new ArgumentOutOfRangeException("port", value, "A port is a number from 1 to 65535.");
    }

    /// <summary>The AWS profile to take credentials (and, if needed, the region) from; <see langword="null"/> for the default chain.</summary>
    public string? Profile { get => _profile; init => _profile = string.IsNullOrWhiteSpace(value) ? null : value.Trim(); }

    /// <summary>How long each generated token is valid (1 second to 7 days). A token is checked only when a connection opens.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The duration is out of range or not whole seconds.</exception>
    public TimeSpan TokenDuration
    {
        get => _tokenDuration;
        init
        {
            DsqlAuthTokenGenerator.ValidateExpiresIn(value, "tokenDuration");
            _tokenDuration = value;
        }
    }

    /// <summary>
    /// The caller's AWS credentials; when set they take precedence over <see cref="Profile"/> and the default chain.
    /// Compared by reference.
    /// </summary>
    public AWSCredentials? Credentials { get => _credentials.Value; init => _credentials = new(value); }

    /// <summary>The clock that dates token signatures (tests); <see langword="null"/> for the system clock. Compared by reference.</summary>
    public TimeProvider? TimeProvider { get => _timeProvider.Value; init => _timeProvider = new(value); }

    /// <summary>An explicit SSL mode; <see langword="null"/> applies the default (<see cref="global::Npgsql.SslMode.VerifyFull"/> for DSQL endpoints, Npgsql's own otherwise).</summary>
    public SslMode? SslMode { get; init; }

    /// <summary>An explicit pooled-connection lifetime; <see langword="null"/> applies <see cref="DefaultConnectionLifetime"/>. Zero disables it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The lifetime is negative or not whole seconds.</exception>
    public TimeSpan? ConnectionLifetime
    {
        get => _connectionLifetime;
        init => _connectionLifetime = value is not { } lifetime
            || (lifetime >= TimeSpan.Zero && lifetime.Ticks % TimeSpan.TicksPerSecond == 0 && lifetime.TotalSeconds <= int.MaxValue)
                ? value
                : throw new ArgumentOutOfRangeException("connectionLifetime", value,
                    "The connection lifetime must be a whole, non-negative number of seconds (DSQL closes connections after 3600 s).");
    }

    /// <summary>An explicit <c>application_name</c>; <see langword="null"/> applies <see cref="DefaultApplicationName"/>.</summary>
    public string? ApplicationName { get; init; }

    /// <summary>
    /// Every other Npgsql setting (for example <c>Maximum Pool Size=20;Timeout=30</c>), as a canonical Npgsql keyword string
    /// sorted by keyword; empty when there are none. Change it with <see cref="WithNpgsqlSettings"/>.
    /// </summary>
    public string NpgsqlSettings { get; private init; } = "";

    /// <summary>The region as an SDK <see cref="RegionEndpoint"/>.</summary>
    public RegionEndpoint RegionEndpoint => RegionEndpoint.GetBySystemName(Region);

    /// <summary>Whether <see cref="Host"/> is a DSQL endpoint (<c>….dsql….{region}.on.aws</c>), as opposed to a tunnel or emulator.</summary>
    public bool IsDsqlEndpoint => DsqlEndpoint.TryGetRegion(Host, out _);

    /// <summary>The 26-character cluster ID when <see cref="Host"/> is a cluster endpoint, else <see langword="null"/>.</summary>
    public string? ClusterId => DsqlEndpoint.ClusterIdOf(Host);

    /// <summary>Whether tokens are <c>DbConnectAdmin</c> tokens (the role is <c>admin</c>).</summary>
    public bool IsAdmin => string.Equals(Username, DefaultUsername, StringComparison.Ordinal);

    /// <summary>
    /// Reads a cluster endpoint, a bare cluster ID, a <c>postgresql://</c>/<c>postgres://</c> URI or an Npgsql keyword string.
    /// </summary>
    /// <param name="hostClusterIdOrConnectionString">
    /// One of: <c>abc…xyz.dsql.us-east-1.on.aws</c>; a 26-character cluster ID (needs a region);
    /// <c>postgresql://admin@host:5432/postgres?region=us-east-1&amp;profile=dev&amp;token_duration_secs=300&amp;sslmode=verify-full</c>;
    /// <c>Host=…;Username=…;Database=…;Region=…;Profile=…;Token Duration Secs=…</c> plus any Npgsql keyword.
    /// </param>
    /// <param name="region">
    /// The region, when it cannot be read from the host. Otherwise the region comes from the host, the string's own
    /// <c>region</c>, <c>AWS_REGION</c>, <c>AWS_DEFAULT_REGION</c>, then the profile's configured region.
    /// </param>
    /// <returns>The options.</returns>
    /// <exception cref="ArgumentException">A value is empty, invalid, contradictory or missing (the message says which and how to fix it).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The token duration is outside 1 to 604,800 seconds.</exception>
    /// <exception cref="FormatException">The URI or keyword string is malformed, or the token duration is not a number.</exception>
    public static DsqlConnectionOptions Parse(string hostClusterIdOrConnectionString, string? region = null)
    {
        ArgumentNullException.ThrowIfNull(hostClusterIdOrConnectionString);
        var parsed = ConnectionStringParser.Parse(hostClusterIdOrConnectionString);

        var explicitRegion = DsqlHostAndRegion.ExplicitRegion(region, parsed.Region);
        var (host, resolvedRegion) = DsqlHostAndRegion.Resolve(parsed.Host, explicitRegion, parsed.Profile);

        return new DsqlConnectionOptions(host, resolvedRegion)
        {
            Profile = parsed.Profile,
            Port = parsed.Port ?? DefaultPort,
            Username = parsed.Username ?? DefaultUsername,
            Database = parsed.Database ?? DefaultDatabase,
            TokenDuration = parsed.TokenDuration ?? DefaultTokenDuration,
        }.AdoptNpgsqlSettings(parsed.Npgsql);
    }

    /// <summary>Returns a copy for another host or cluster ID (the region is re-read from a DSQL endpoint).</summary>
    /// <param name="hostOrClusterId">A cluster endpoint, a bare cluster ID (expanded with <see cref="Region"/>), or any host name.</param>
    /// <returns>The changed copy.</returns>
    public DsqlConnectionOptions WithHost(string hostOrClusterId)
    {
        ArgumentNullException.ThrowIfNull(hostOrClusterId);
        var host = DsqlHostAndRegion.NormalizeHost(hostOrClusterId);
        return DsqlEndpoint.IsClusterId(host)
            ? this with { Host = DsqlEndpoint.HostFor(host, Region) }
            : this with { Host = host, Region = DsqlEndpoint.TryGetRegion(host, out var hostRegion) ? hostRegion : Region };
    }

    /// <summary>Returns a copy signing for another region. A DSQL endpoint's own region cannot be contradicted.</summary>
    /// <param name="region">The region, for example <c>us-east-1</c>.</param>
    /// <returns>The changed copy.</returns>
    /// <exception cref="ArgumentException">The region is malformed or contradicts the endpoint's region.</exception>
    public DsqlConnectionOptions WithRegion(string region)
    {
        ArgumentNullException.ThrowIfNull(region);
        var value = DsqlHostAndRegion.ValidateRegion(region, nameof(region), "the region argument");
        return DsqlEndpoint.TryGetRegion(Host, out var hostRegion) && hostRegion != value
            ? throw DsqlHostAndRegion.Conflict(Host, hostRegion, value, nameof(region))
            : this with { Region = value };
    }

    /// <summary>Returns a copy connecting as another database role (<c>admin</c> gets admin tokens).</summary>
    /// <param name="username">The role name.</param>
    /// <returns>The changed copy.</returns>
    public DsqlConnectionOptions WithUsername(string username) => this with { Username = username };

    /// <summary>Returns a copy using another database.</summary>
    /// <param name="database">The database name.</param>
    /// <returns>The changed copy.</returns>
    public DsqlConnectionOptions WithDatabase(string database) => this with { Database = database };

    /// <summary>Returns a copy using another port.</summary>
    /// <param name="port">1 to 65535.</param>
    /// <returns>The changed copy.</returns>
    public DsqlConnectionOptions WithPort(int port) => this with { Port = port };

    /// <summary>Returns a copy taking credentials from a named AWS profile (unless <see cref="Credentials"/> is set).</summary>
    /// <param name="profile">The profile name; <see langword="null"/> for the default chain.</param>
    /// <returns>The changed copy.</returns>
    public DsqlConnectionOptions WithProfile(string? profile) => this with { Profile = profile };

    /// <summary>Returns a copy whose tokens live <paramref name="tokenDuration"/>.</summary>
    /// <param name="tokenDuration">A whole number of seconds from 1 to 604,800.</param>
    /// <returns>The changed copy.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The duration is out of range or not whole seconds.</exception>
    public DsqlConnectionOptions WithTokenDuration(TimeSpan tokenDuration) => this with { TokenDuration = tokenDuration };

    /// <summary>Returns a copy signing with the caller's credentials (taking precedence over any profile and the default chain).</summary>
    /// <param name="credentials">The credentials; <see langword="null"/> to fall back to the profile or default chain.</param>
    /// <returns>The changed copy.</returns>
    public DsqlConnectionOptions WithCredentials(AWSCredentials? credentials) => this with { Credentials = credentials };

    /// <summary>Returns a copy dating token signatures with <paramref name="timeProvider"/> (for tests).</summary>
    /// <param name="timeProvider">The clock; <see langword="null"/> for the system clock.</param>
    /// <returns>The changed copy.</returns>
    public DsqlConnectionOptions WithTimeProvider(TimeProvider? timeProvider) => this with { TimeProvider = timeProvider };

    /// <summary>Returns a copy with an explicit SSL mode (for example <see cref="global::Npgsql.SslMode.Disable"/> for a local emulator).</summary>
    /// <param name="sslMode">The mode; <see langword="null"/> restores the default.</param>
    /// <returns>The changed copy.</returns>
    public DsqlConnectionOptions WithSslMode(SslMode? sslMode) => this with { SslMode = sslMode };

    /// <summary>Returns a copy with an explicit pooled-connection lifetime.</summary>
    /// <param name="connectionLifetime">Whole seconds, zero for none; <see langword="null"/> restores the 3300 s default.</param>
    /// <returns>The changed copy.</returns>
    public DsqlConnectionOptions WithConnectionLifetime(TimeSpan? connectionLifetime) => this with { ConnectionLifetime = connectionLifetime };

    /// <summary>Returns a copy with an explicit <c>application_name</c>.</summary>
    /// <param name="applicationName">The name; <see langword="null"/> restores <see cref="DefaultApplicationName"/>.</param>
    /// <returns>The changed copy.</returns>
    public DsqlConnectionOptions WithApplicationName(string? applicationName) => this with { ApplicationName = applicationName };

    /// <summary>Returns a copy with other Npgsql settings changed (pool sizes, timeouts, certificates…).</summary>
    /// <param name="configure">
    /// Edits a builder holding the current pass-through settings. Host, port, username and database have their own
    /// <c>With…</c> methods; a password is refused because tokens are generated per connection.
    /// </param>
    /// <returns>The changed copy.</returns>
    public DsqlConnectionOptions WithNpgsqlSettings(Action<NpgsqlConnectionStringBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = new NpgsqlConnectionStringBuilder(NpgsqlSettings);
        configure(builder);
        var present = ConnectionStringParser.CanonicalKeys(builder);
        foreach (var keyword in IdentityKeywords)
        {
            if (present.Contains(keyword))
            {
                throw new ArgumentException(
                    keyword is "Password" or "Passfile"
                        ? "DSQL connections authenticate with IAM tokens generated per connection; do not set a Password or Passfile."
                        : $"Set '{keyword}' with DsqlConnectionOptions.With{(keyword == "Username" ? "Username" : keyword)}(...) rather than through the Npgsql settings.",
                    nameof(configure));
            }
        }

        return AdoptNpgsqlSettings(builder);
    }

    /// <summary>
    /// The complete Npgsql settings these options produce (host, port, role, database, defaults, overrides and the
    /// pass-through settings), without a password: tokens are supplied per connection by the password provider.
    /// </summary>
    /// <returns>A new builder the caller may edit.</returns>
    public NpgsqlConnectionStringBuilder ToNpgsqlConnectionStringBuilder()
    {
        var builder = new NpgsqlConnectionStringBuilder();
        DsqlNpgsqlSettings.Apply(builder, this);
        return builder;
    }

    /// <summary>
    /// A keyword string that <see cref="Parse"/> reads back into equal options (apart from <see cref="Credentials"/> and
    /// <see cref="TimeProvider"/>, shown by type name only). It never contains a secret.
    /// </summary>
    /// <returns>The description.</returns>
    public override string ToString()
    {
        var text = new StringBuilder();
        Append(text, "Host", Host);
        Append(text, "Port", Port.ToString(CultureInfo.InvariantCulture));
        Append(text, "Username", Username);
        Append(text, "Database", Database);
        Append(text, "Region", Region);
        if (Profile is not null)
        {
            Append(text, "Profile", Profile);
        }

        Append(text, "Token Duration Secs", ((long)TokenDuration.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        if (SslMode is { } sslMode)
        {
            Append(text, "SSL Mode", sslMode.ToString());
        }

        if (ConnectionLifetime is { } lifetime)
        {
            Append(text, "Connection Lifetime", ((long)lifetime.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        }

        if (ApplicationName is not null)
        {
            Append(text, "Application Name", ApplicationName);
        }

        if (NpgsqlSettings.Length > 0)
        {
            var settings = new NpgsqlConnectionStringBuilder(NpgsqlSettings);
            if (settings.SslPassword is not null)
            {
                settings.SslPassword = "***";
            }

            text.Append(';').Append(settings.ConnectionString);
        }

        var result = text.ToString();
        var extras = (Credentials, TimeProvider) switch
        {
            (null, null) => "",
            _ => $" (credentials: {Credentials?.GetType().Name ?? "default"}; clock: {TimeProvider?.GetType().Name ?? "system"})",
        };
        return result + extras;

        static void Append(StringBuilder text, string key, string value)
        {
            if (text.Length > 0)
            {
                text.Append(';');
            }

            var needsQuotes = value.Length == 0 || value.AsSpan().IndexOfAny(";='\" ") >= 0;
            text.Append(key).Append('=').Append(needsQuotes ? "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'" : value);
        }
    }

    /// <summary>Lifts SSL mode, lifetime and application name into typed options and keeps the rest, sorted, as pass-through.</summary>
    private DsqlConnectionOptions AdoptNpgsqlSettings(NpgsqlConnectionStringBuilder builder)
    {
        var present = ConnectionStringParser.CanonicalKeys(builder);
        if (present.Contains("Connection Lifetime") && builder.ConnectionLifetime < 0)
        {
            throw new ArgumentOutOfRangeException("Connection Lifetime", builder.ConnectionLifetime, "The connection lifetime must be zero or more seconds.");
        }

        var rest = new SortedDictionary<string, object>(StringComparer.OrdinalIgnoreCase);
        foreach (var keyword in present)
        {
            if (!LiftedKeywords.Contains(keyword, StringComparer.OrdinalIgnoreCase))
            {
                rest[keyword] = builder[keyword];
            }
        }

        var canonical = new NpgsqlConnectionStringBuilder();
        foreach (var (keyword, value) in rest)
        {
            canonical[keyword] = value;
        }

        return this with
        {
            SslMode = present.Contains("SSL Mode") ? builder.SslMode : SslMode,
            ConnectionLifetime = present.Contains("Connection Lifetime") ? TimeSpan.FromSeconds(builder.ConnectionLifetime) : ConnectionLifetime,
            ApplicationName = present.Contains("Application Name") ? builder.ApplicationName : ApplicationName,
            NpgsqlSettings = canonical.ConnectionString,
        };
    }

    private static string ValidateName(string value, string parameter, string example)
    {
        ArgumentNullException.ThrowIfNull(value, parameter);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"The {parameter.ToLowerInvariant()} is empty; use {example}.", parameter);
        }

        return value;
    }

    // Compares by reference whatever the type's own equality says: two credential objects (or clocks) are the same only if
    // they are one object. Lets the record's generated equality treat these settings as documented.
    private readonly struct ByReference<T>(T? value) : IEquatable<ByReference<T>>
        where T : class
    {
        public T? Value { get; } = value;

        public bool Equals(ByReference<T> other) => ReferenceEquals(Value, other.Value);

        public override bool Equals(object? obj) => obj is ByReference<T> other && Equals(other);

        public override int GetHashCode() => Value is null ? 0 : RuntimeHelpers.GetHashCode(Value);
    }
}
