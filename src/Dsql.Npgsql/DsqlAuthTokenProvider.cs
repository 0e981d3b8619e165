namespace Dsql.Npgsql;

/// <summary>
/// Generates a fresh DSQL auth token for every call, for the role, endpoint and lifetime of a
/// <see cref="DsqlConnectionOptions"/>. Credentials are resolved once — the caller's, else the profile's, else the AWS
/// default chain — and reused; the SDK refreshes temporary credentials itself.
/// </summary>
/// <remarks>
/// This is the password provider behind <see cref="DsqlDataSource"/> and
/// <c>NpgsqlDataSourceBuilder.UseDsqlAuthentication</c>; use it directly to hand tokens to other clients. Instances are
/// thread-safe. Signing is local and costs microseconds, so tokens are not cached.
/// </remarks>
public sealed class DsqlAuthTokenProvider
{
    private readonly ILogger? _logger;
    private AWSCredentials? _credentials;

    /// <summary>Creates a provider. A named profile is read now, so a missing profile fails here rather than at first connection.</summary>
    /// <param name="options">The connection options.</param>
    /// <exception cref="ArgumentException">The named profile does not exist or has no usable credentials.</exception>
    public DsqlAuthTokenProvider(DsqlConnectionOptions options)
        : this(options, loggerFactory: null)
    {
    }

    /// <summary>
    /// Creates a provider that logs, under the category <c>Dsql.Npgsql</c>, where its credentials came from
    /// (Information), each token's role, host and lifetime (Debug) and credential failures (Error); never a token or a secret.
    /// </summary>
    /// <param name="options">The connection options.</param>
    /// <param name="loggerFactory">The application's logger factory; <see langword="null"/> for no logs.</param>
    /// <exception cref="ArgumentException">The named profile does not exist or has no usable credentials.</exception>
    public DsqlAuthTokenProvider(DsqlConnectionOptions options, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _logger = loggerFactory?.CreateLogger(DsqlConnectorTelemetry.LoggerCategory);

        // Precedence: the caller's credentials > the named profile > the default chain (resolved lazily: it may call
        // IMDS, SSO or STS, which the async path must not block a thread on).
        if (options.Credentials is { } given)
        {
            _credentials = given;
            DsqlConnectorTelemetry.RecordCredentialsResolved(_logger, options, $"the credentials given in the options ({given.GetType().Name})");
        }
        else if (options.Profile is { } profile)
        {
            try
            {
                _credentials = AwsEnvironment.ProfileCredentials(profile);
            }
            catch (ArgumentException e)
            {
                DsqlConnectorTelemetry.RecordCredentialFailure(_logger, options, "profile", e);
                throw;
            }

            DsqlConnectorTelemetry.RecordCredentialsResolved(_logger, options, $"AWS profile '{profile}' ({_credentials.GetType().Name})");
        }
    }

    /// <summary>The options tokens are generated for.</summary>
    public DsqlConnectionOptions Options { get; }

    /// <summary>The credentials tokens are signed with, resolving the default chain on first use.</summary>
    /// <returns>The credentials.</returns>
    /// <exception cref="InvalidOperationException">The default chain found no credentials.</exception>
    public AWSCredentials GetCredentials()
    {
        if (_credentials is { } credentials)
        {
            return credentials;
        }

        try
        {
            return _credentials = DefaultChainResolved(AwsEnvironment.DefaultCredentials());
        }
        catch (InvalidOperationException e)
        {
            DsqlConnectorTelemetry.RecordCredentialFailure(_logger, Options, "default-chain", e);
            throw;
        }
    }

    /// <summary>The credentials tokens are signed with, resolving the default chain on first use without blocking a thread.</summary>
    /// <param name="cancellationToken">Cancels the resolution.</param>
    /// <returns>The credentials.</returns>
    /// <exception cref="InvalidOperationException">The default chain found no credentials.</exception>
    public async ValueTask<AWSCredentials> GetCredentialsAsync(CancellationToken cancellationToken = default)
    {
        if (_credentials is { } credentials)
        {
            return credentials;
        }

        // Concurrent first calls may both resolve; the SDK's resolver caches, so they get the same instance.
        try
        {
            return _credentials = DefaultChainResolved(await AwsEnvironment.DefaultCredentialsAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (InvalidOperationException e)
        {
            DsqlConnectorTelemetry.RecordCredentialFailure(_logger, Options, "default-chain", e);
            throw;
        }
    }

    /// <summary>Generates a token (admin or not, per <see cref="DsqlConnectionOptions.Username"/>).</summary>
    /// <returns>The token, to be used as the connection password.</returns>
    public string GenerateToken()
    {
        var start = Stopwatch.GetTimestamp();
        var credentials = GetCredentials();
        var token = Options.IsAdmin
            ? DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(credentials, Options.RegionEndpoint, Options.Host, Options.TokenDuration, Options.TimeProvider)
            : DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(credentials, Options.RegionEndpoint, Options.Host, Options.TokenDuration, Options.TimeProvider);
        DsqlConnectorTelemetry.RecordToken(_logger, Options, start);
        return token;
    }

    /// <summary>Generates a token, resolving and refreshing credentials asynchronously.</summary>
    /// <param name="cancellationToken">Cancels credential resolution.</param>
    /// <returns>The token, to be used as the connection password.</returns>
    public async ValueTask<string> GenerateTokenAsync(CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        var credentials = await GetCredentialsAsync(cancellationToken).ConfigureAwait(false);
        var token = Options.IsAdmin
            ? await DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthTokenAsync(
                credentials, Options.RegionEndpoint, Options.Host, Options.TokenDuration, Options.TimeProvider, cancellationToken).ConfigureAwait(false)
            : await DsqlAuthTokenGenerator.GenerateDbConnectAuthTokenAsync(
                credentials, Options.RegionEndpoint, Options.Host, Options.TokenDuration, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        DsqlConnectorTelemetry.RecordToken(_logger, Options, start);
        return token;
    }

    private AWSCredentials DefaultChainResolved(AWSCredentials credentials)
    {
        DsqlConnectorTelemetry.RecordCredentialsResolved(_logger, Options, $"the AWS SDK's default credential chain ({credentials.GetType().Name})");
        return credentials;
    }

    /// <inheritdoc />
    public override string ToString() => $"DsqlAuthTokenProvider({Options})";
}
