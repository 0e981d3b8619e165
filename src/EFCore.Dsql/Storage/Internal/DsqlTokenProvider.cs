using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;
using Dsql.Npgsql;
using Npgsql;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>
/// Produces an IAM token as the password of every new physical connection. Token signing is local (SigV4), so a fresh
/// token per connection costs microseconds; credentials are resolved lazily on the first connection, never at
/// registration, and a failed resolution is retried on the next connection.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed class DsqlTokenProvider
{
    private readonly string _host;
    private readonly RegionEndpoint _region;
    private readonly DsqlAuthSettings _settings;
    private AWSCredentials? _credentials;

    /// <summary>Creates a provider.</summary>
    /// <param name="host">The cluster endpoint the token is for.</param>
    /// <param name="region">The AWS region.</param>
    /// <param name="settings">Credentials, profile and lifetime.</param>
    public DsqlTokenProvider(string host, string region, DsqlAuthSettings settings)
    {
        _host = host;
        _region = RegionEndpoint.GetBySystemName(region);
        if (_region.DisplayName == "Unknown" && !region.Contains('-'))
        {
            throw new ArgumentException(DsqlStrings.UnknownRegion(region), nameof(region));
        }

        _settings = settings;
        _credentials = settings.Credentials;
    }

    /// <summary>Returns a token for the connection's user (a <c>DbConnectAdmin</c> token for <c>admin</c>).</summary>
    /// <param name="settings">The connection's settings.</param>
    public string GetToken(NpgsqlConnectionStringBuilder settings)
    {
        var credentials = _credentials ??= ResolveCredentials();
        return IsAdmin(settings)
            ? DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(credentials, _region, _host, _settings.TokenDuration)
            : DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(credentials, _region, _host, _settings.TokenDuration);
    }

    /// <summary>Returns a token for the connection's user, resolving credentials asynchronously.</summary>
    /// <param name="settings">The connection's settings.</param>
    /// <param name="cancellationToken">Cancels credential resolution.</param>
    public async ValueTask<string> GetTokenAsync(NpgsqlConnectionStringBuilder settings, CancellationToken cancellationToken)
    {
        var credentials = _credentials ??= ResolveCredentials();
        return IsAdmin(settings)
            ? await DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthTokenAsync(credentials, _region, _host, _settings.TokenDuration, null, cancellationToken).ConfigureAwait(false)
            : await DsqlAuthTokenGenerator.GenerateDbConnectAuthTokenAsync(credentials, _region, _host, _settings.TokenDuration, null, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsAdmin(NpgsqlConnectionStringBuilder settings) => string.Equals(settings.Username, "admin", StringComparison.Ordinal);

    // The SDK's credential objects refresh themselves (roles, SSO); we only cache the object, never a token.
    private AWSCredentials ResolveCredentials()
    {
        if (_settings.Profile is { } profile)
        {
            return new CredentialProfileStoreChain().TryGetAWSCredentials(profile, out var fromProfile)
                ? fromProfile
                : throw new InvalidOperationException(DsqlStrings.ProfileNotFound(profile));
        }

        return DefaultAWSCredentialsIdentityResolver.GetCredentials();
    }
}
