using Amazon;

namespace Dsql.Npgsql;

/// <summary>
/// Generates Amazon Aurora DSQL IAM authentication tokens: SigV4 presigned URLs for
/// <c>GET https://{hostname}/?Action=DbConnect</c> (any role) or <c>Action=DbConnectAdmin</c> (the <c>admin</c> role),
/// with the <c>https://</c> scheme removed. Signing is local; no network call is made.
/// </summary>
/// <remarks>
/// A token is only checked when a connection is established; an open connection outlives its token.
/// Tokens are secrets: never log them.
/// </remarks>
public static class DsqlAuthTokenGenerator
{
    /// <summary>The default token lifetime: 900 seconds (15 minutes).</summary>
    public static readonly TimeSpan DefaultExpiresIn = TimeSpan.FromSeconds(900);

    /// <summary>The longest token lifetime DSQL accepts: 604,800 seconds (7 days).</summary>
    public static readonly TimeSpan MaxExpiresIn = TimeSpan.FromSeconds(604_800);

    /// <summary>The shortest token lifetime: 1 second.</summary>
    public static readonly TimeSpan MinExpiresIn = TimeSpan.FromSeconds(1);

    internal const string DbConnectAction = "DbConnect";
    internal const string DbConnectAdminAction = "DbConnectAdmin";

    /// <summary>Generates a <c>DbConnect</c> token, for any database role other than <c>admin</c>.</summary>
    /// <param name="credentials">The AWS credentials to sign with.</param>
    /// <param name="region">The cluster's AWS region.</param>
    /// <param name="hostname">The cluster endpoint, for example <c>abc…xyz.dsql.us-east-1.on.aws</c>; an <c>https://</c> prefix is ignored.</param>
    /// <param name="expiresIn">The token lifetime, 1 second to 7 days; 900 seconds when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock that dates the signature; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <returns>The token, to be used as the connection password.</returns>
    public static string GenerateDbConnectAuthToken(
        AWSCredentials credentials, RegionEndpoint region, string hostname, TimeSpan? expiresIn = null, TimeProvider? timeProvider = null)
        => Generate(credentials, region, hostname, DbConnectAction, expiresIn, timeProvider);

    /// <summary>Generates a <c>DbConnectAdmin</c> token, for the <c>admin</c> role.</summary>
    /// <param name="credentials">The AWS credentials to sign with.</param>
    /// <param name="region">The cluster's AWS region.</param>
    /// <param name="hostname">The cluster endpoint, for example <c>abc…xyz.dsql.us-east-1.on.aws</c>; an <c>https://</c> prefix is ignored.</param>
    /// <param name="expiresIn">The token lifetime, 1 second to 7 days; 900 seconds when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock that dates the signature; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <returns>The token, to be used as the connection password.</returns>
    public static string GenerateDbConnectAdminAuthToken(
        AWSCredentials credentials, RegionEndpoint region, string hostname, TimeSpan? expiresIn = null, TimeProvider? timeProvider = null)
        => Generate(credentials, region, hostname, DbConnectAdminAction, expiresIn, timeProvider);

    /// <summary>Generates a <c>DbConnect</c> token, resolving the credentials asynchronously.</summary>
    /// <param name="credentials">The AWS credentials to sign with.</param>
    /// <param name="region">The cluster's AWS region.</param>
    /// <param name="hostname">The cluster endpoint; an <c>https://</c> prefix is ignored.</param>
    /// <param name="expiresIn">The token lifetime, 1 second to 7 days; 900 seconds when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock that dates the signature; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels credential resolution.</param>
    /// <returns>The token, to be used as the connection password.</returns>
    public static ValueTask<string> GenerateDbConnectAuthTokenAsync(
        AWSCredentials credentials, RegionEndpoint region, string hostname, TimeSpan? expiresIn = null, TimeProvider? timeProvider = null,
        CancellationToken cancellationToken = default)
        => GenerateAsync(credentials, region, hostname, DbConnectAction, expiresIn, timeProvider, cancellationToken);

    /// <summary>Generates a <c>DbConnectAdmin</c> token, resolving the credentials asynchronously.</summary>
    /// <param name="credentials">The AWS credentials to sign with.</param>
    /// <param name="region">The cluster's AWS region.</param>
    /// <param name="hostname">The cluster endpoint; an <c>https://</c> prefix is ignored.</param>
    /// <param name="expiresIn">The token lifetime, 1 second to 7 days; 900 seconds when <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock that dates the signature; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels credential resolution.</param>
    /// <returns>The token, to be used as the connection password.</returns>
    public static ValueTask<string> GenerateDbConnectAdminAuthTokenAsync(
        AWSCredentials credentials, RegionEndpoint region, string hostname, TimeSpan? expiresIn = null, TimeProvider? timeProvider = null,
        CancellationToken cancellationToken = default)
        => GenerateAsync(credentials, region, hostname, DbConnectAdminAction, expiresIn, timeProvider, cancellationToken);

    private static string Generate(
        AWSCredentials credentials, RegionEndpoint region, string hostname, string action, TimeSpan? expiresIn, TimeProvider? timeProvider)
    {
        var (host, seconds) = Validate(credentials, region, hostname, expiresIn);
        var immutable = credentials.GetCredentials()
            ?? throw new InvalidOperationException($"The AWS credentials provider {credentials.GetType().Name} returned no credentials.");
        return Sign(immutable, region, host, action, seconds, timeProvider);
    }

    private static async ValueTask<string> GenerateAsync(
        AWSCredentials credentials, RegionEndpoint region, string hostname, string action, TimeSpan? expiresIn, TimeProvider? timeProvider,
        CancellationToken cancellationToken)
    {
        var (host, seconds) = Validate(credentials, region, hostname, expiresIn);
        cancellationToken.ThrowIfCancellationRequested();
        var immutable = await credentials.GetCredentialsAsync().WaitAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The AWS credentials provider {credentials.GetType().Name} returned no credentials.");
        return Sign(immutable, region, host, action, seconds, timeProvider);
    }

    private static string Sign(ImmutableCredentials credentials, RegionEndpoint region, string host, string action, int seconds, TimeProvider? timeProvider)
    {
        if (string.IsNullOrEmpty(credentials.AccessKey) || string.IsNullOrEmpty(credentials.SecretKey))
        {
            throw new InvalidOperationException(
                "The AWS credentials have no access key ID or secret access key. Check the credentials source (environment, profile or provider).");
        }

        var signingTime = (timeProvider ?? TimeProvider.System).GetUtcNow().UtcDateTime;
        return SigV4Presigner.Presign(
            host,
            region.SystemName,
            action,
            credentials.AccessKey,
            credentials.SecretKey,
            credentials.UseToken ? credentials.Token : null,
            signingTime,
            seconds);
    }

    private static (string Host, int Seconds) Validate(AWSCredentials credentials, RegionEndpoint region, string hostname, TimeSpan? expiresIn)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(region);
        ArgumentNullException.ThrowIfNull(hostname);
        var host = NormalizeHostname(hostname);
        var seconds = ValidateExpiresIn(expiresIn ?? DefaultExpiresIn);
        return (host, seconds);
    }

    /// <summary>Checks a token lifetime and returns it in whole seconds.</summary>
    internal static int ValidateExpiresIn(TimeSpan expiresIn, string parameterName = "expiresIn")
    {
        if (expiresIn < MinExpiresIn || expiresIn > MaxExpiresIn)
        {
            throw new ArgumentOutOfRangeException(
                parameterName,
                expiresIn,
                $"A DSQL auth token must live between 1 second and 604,800 seconds (7 days); {expiresIn.TotalSeconds:0.###} seconds was given.");
        }

        if (expiresIn.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            throw new ArgumentOutOfRangeException(
                parameterName,
                expiresIn,
                $"A DSQL auth token lifetime is a whole number of seconds; {expiresIn.TotalSeconds:0.###} seconds was given.");
        }

        return (int)(expiresIn.Ticks / TimeSpan.TicksPerSecond);
    }

    /// <summary>Strips an <c>https://</c> scheme and a trailing slash, and refuses anything that is not a host name.</summary>
    internal static string NormalizeHostname(string hostname)
    {
        var host = hostname.Trim();
        if (host.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            host = host["https://".Length..];
        }
        else if (host.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            host = host["http://".Length..];
        }

        host = host.TrimEnd('/');

        if (host.Length == 0)
        {
            throw new ArgumentException("The DSQL host name is empty. Pass the cluster endpoint, for example 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws'.", nameof(hostname));
        }

        foreach (var c in host)
        {
            if (char.IsWhiteSpace(c) || c is '/' or '?' or '#' or '@' or '\\')
            {
                throw new ArgumentException(
                    $"'{hostname}' is not a host name: it contains '{c}'. Pass only the cluster endpoint, for example 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws'.",
                    nameof(hostname));
            }
        }

        return host;
    }
}
