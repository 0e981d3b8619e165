using Amazon.Runtime;
using Dsql.Npgsql.Internal;

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
    private AWSCredentials? _credentials;

    /// <summary>Creates a provider. A named profile is read now, so a missing profile fails here rather than at first connection.</summary>
    /// <param name="options">The connection options.</param>
    /// <exception cref="ArgumentException">The named profile does not exist or has no usable credentials.</exception>
    public DsqlAuthTokenProvider(DsqlConnectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        // Precedence: the caller's credentials > the named profile > the default chain (resolved lazily: it may call
        // IMDS, SSO or STS, which the async path must not block a thread on).
        _credentials = options.Credentials ?? (options.Profile is { } profile ? AwsEnvironment.ProfileCredentials(profile) : null);
    }

    /// <summary>The options tokens are generated for.</summary>
    public DsqlConnectionOptions Options { get; }

    /// <summary>The credentials tokens are signed with, resolving the default chain on first use.</summary>
    /// <returns>The credentials.</returns>
    /// <exception cref="InvalidOperationException">The default chain found no credentials.</exception>
    public AWSCredentials GetCredentials() => _credentials ??= AwsEnvironment.DefaultCredentials();

    /// <summary>The credentials tokens are signed with, resolving the default chain on first use without blocking a thread.</summary>
    /// <param name="cancellationToken">Cancels the resolution.</param>
    /// <returns>The credentials.</returns>
    /// <exception cref="InvalidOperationException">The default chain found no credentials.</exception>
    public async ValueTask<AWSCredentials> GetCredentialsAsync(CancellationToken cancellationToken = default)
        // Concurrent first calls may both resolve; the SDK's resolver caches, so they get the same instance.
        => _credentials ??= await AwsEnvironment.DefaultCredentialsAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Generates a token (admin or not, per <see cref="DsqlConnectionOptions.Username"/>).</summary>
    /// <returns>The token, to be used as the connection password.</returns>
    public string GenerateToken()
    {
        var credentials = GetCredentials();
        return Options.IsAdmin
            ? DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(credentials, Options.RegionEndpoint, Options.Host, Options.TokenDuration, Options.TimeProvider)
            : DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(credentials, Options.RegionEndpoint, Options.Host, Options.TokenDuration, Options.TimeProvider);
    }

    /// <summary>Generates a token, resolving and refreshing credentials asynchronously.</summary>
    /// <param name="cancellationToken">Cancels credential resolution.</param>
    /// <returns>The token, to be used as the connection password.</returns>
    public async ValueTask<string> GenerateTokenAsync(CancellationToken cancellationToken = default)
    {
        var credentials = await GetCredentialsAsync(cancellationToken).ConfigureAwait(false);
        return Options.IsAdmin
            ? await DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthTokenAsync(
                credentials, Options.RegionEndpoint, Options.Host, Options.TokenDuration, Options.TimeProvider, cancellationToken).ConfigureAwait(false)
            : await DsqlAuthTokenGenerator.GenerateDbConnectAuthTokenAsync(
                credentials, Options.RegionEndpoint, Options.Host, Options.TokenDuration, Options.TimeProvider, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override string ToString() => $"DsqlAuthTokenProvider({Options})";
}
