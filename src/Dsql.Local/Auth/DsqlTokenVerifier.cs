using System.Security.Cryptography;
using Dsql.Npgsql.Internal;

namespace Dsql.Local.Auth;

/// <summary>
/// Verifies a DSQL IAM auth token the way the service does: it is a SigV4 presigned URL for
/// <c>GET https://{endpoint}/?Action=DbConnect[Admin]</c>, whose signature is recomputed with the secret of the access key
/// it names. Failure messages say which check failed and never echo the token.
/// </summary>
internal sealed class DsqlTokenVerifier
{
    private static readonly string UnknownKeySecret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    private const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private readonly IReadOnlyDictionary<string, string> _secrets;
    private readonly string _region;
    private readonly IReadOnlyList<string> _hosts;
    private readonly TimeProvider _clock;

    public DsqlTokenVerifier(IEnumerable<DsqlLocalCredential> credentials, string region, IReadOnlyList<string> hosts, TimeProvider? clock = null)
    {
        _secrets = credentials.GroupBy(c => c.AccessKeyId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().SecretAccessKey, StringComparer.Ordinal);
        _region = region;
        _hosts = hosts;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>
    /// How far in the future a token's signing time may be: the signer's clock may run a little ahead of ours. DSQL's
    /// documentation allows no grace after expiry ("a connection request with an expired token fails"), so none is given
    /// there.
    /// </summary>
    public static TimeSpan FutureClockSkew { get; } = TimeSpan.FromMinutes(1);

    /// <summary>Checks <paramref name="token"/> for <paramref name="user"/>; returns <see langword="null"/> when valid, else why not.</summary>
    public TokenFailure? Verify(string user, string token) => Verify(user, token, out _);

    /// <summary>
    /// Checks <paramref name="token"/> for <paramref name="user"/>; returns <see langword="null"/> when valid, else why not.
    /// <paramref name="accessKeyId"/> is the access key that signed a valid token (the identity the token stands for).
    /// </summary>
    public TokenFailure? Verify(string user, string token, out string? accessKeyId)
    {
        accessKeyId = null;
        var failure = VerifyCore(user, token, out var signer);
        if (failure is null)
        {
            accessKeyId = signer;
        }

        return failure;
    }

    private TokenFailure? VerifyCore(string user, string token, out string? signer)
    {
        signer = null;
        var questionMark = token.IndexOf("/?", StringComparison.Ordinal);
        if (questionMark <= 0)
        {
            return Malformed("it is not a presigned URL of the form '<endpoint>/?Action=...'");
        }

        var host = token[..questionMark];
        if (host.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            host = host["https://".Length..];
        }

        var parameters = new List<KeyValuePair<string, string>>();
        foreach (var pair in token[(questionMark + 2)..].Split('&'))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                return Malformed("its query string has a parameter without a name or value");
            }

            parameters.Add(new(pair[..equals], pair[(equals + 1)..]));
        }

        string? Get(string name)
        {
            string? found = null;
            foreach (var (key, value) in parameters)
            {
                if (key == name)
                {
                    if (found is not null)
                    {
                        return null;
                    }

                    found = value;
                }
            }

            return found;
        }

        var action = Get("Action");
        var algorithm = Get("X-Amz-Algorithm");
        var credential = Get("X-Amz-Credential");
        var amzDate = Get("X-Amz-Date");
        var expires = Get("X-Amz-Expires");
        var signedHeaders = Get("X-Amz-SignedHeaders");
        var signature = Get("X-Amz-Signature");
        if (action is null || algorithm is null || credential is null || amzDate is null || expires is null || signedHeaders is null || signature is null)
        {
            return Malformed("it lacks one of Action, X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature (or repeats one)");
        }

        if (algorithm != SigV4Presigner.Algorithm)
        {
            return Malformed($"X-Amz-Algorithm must be {SigV4Presigner.Algorithm}");
        }

        if (signedHeaders != "host")
        {
            return Malformed("X-Amz-SignedHeaders must be 'host'");
        }

        var scope = Uri.UnescapeDataString(credential).Split('/');
        if (scope.Length != 5 || scope[4] != SigV4Presigner.TerminationString)
        {
            return Malformed("X-Amz-Credential must be '<access key id>/<yyyymmdd>/<region>/dsql/aws4_request'");
        }

        var (accessKeyId, dateStamp, region, service) = (scope[0], scope[1], scope[2], scope[3]);
        signer = accessKeyId;
        if (!DateTime.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var signedAt) || amzDate[..8] != dateStamp)
        {
            return Malformed("X-Amz-Date must be 'yyyyMMddTHHmmssZ' and match the credential scope's date");
        }

        if (!int.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var expiresIn) || expiresIn < 1 || expiresIn > 604_800)
        {
            return Malformed("X-Amz-Expires must be a whole number of seconds from 1 to 604800");
        }

        if (service != SigV4Presigner.Service)
        {
            return new TokenFailure("28000", $"the token is signed for service '{service}', not 'dsql'");
        }

        if (region != _region)
        {
            return new TokenFailure("28000", $"the token is signed for region '{region}', but this cluster is in '{_region}'");
        }

        if (!_hosts.Contains(host, StringComparer.OrdinalIgnoreCase))
        {
            return new TokenFailure("28000", $"the token is signed for host '{host}', but this cluster's endpoint is {string.Join(" or ", _hosts.Select(h => $"'{h}'"))}");
        }

        var requiredAction = user == "admin" ? "DbConnectAdmin" : "DbConnect";
        if (action != requiredAction)
        {
            return new TokenFailure("28000", $"the token grants Action={action}, but role '{user}' needs Action={requiredAction}");
        }

        var now = _clock.GetUtcNow().UtcDateTime;
        if (signedAt > now + FutureClockSkew)
        {
            return new TokenFailure("28P01", $"the token is dated {signedAt:yyyy-MM-ddTHH:mm:ssZ}, in the future (server time {now:yyyy-MM-ddTHH:mm:ssZ})");
        }

        if (signedAt.AddSeconds(expiresIn) < now)
        {
            return new TokenFailure("28P01", $"the token expired at {signedAt.AddSeconds(expiresIn):yyyy-MM-ddTHH:mm:ssZ} (server time {now:yyyy-MM-ddTHH:mm:ssZ}); generate a new one");
        }

        // An unknown access key is checked against a secret no token is signed with, so it takes the same time and gets the
        // same answer as a wrong signature: a refusal must not tell a caller which access key IDs exist.
        var secret = _secrets.GetValueOrDefault(accessKeyId) ?? UnknownKeySecret;

        var canonicalQuery = string.Join('&', parameters
            .Where(p => p.Key != "X-Amz-Signature")
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => p.Key + "=" + p.Value));
        var canonicalRequest = string.Concat("GET\n/\n", canonicalQuery, "\nhost:", host, "\n\nhost\n", EmptyPayloadHash);
        var stringToSign = string.Concat(
            SigV4Presigner.Algorithm, "\n", amzDate, "\n",
            dateStamp, "/", region, "/", service, "/", SigV4Presigner.TerminationString, "\n",
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest))));
        var expected = SigV4Presigner.Sign(secret, dateStamp, region, stringToSign);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature.ToLowerInvariant())))
        {
            return new TokenFailure("28P01", "the signature does not match: the token was not signed with an access key this emulator accepts (see --credentials), or it was altered");
        }

        return null;
    }

    private static TokenFailure Malformed(string why) => new("28P01", $"the password is not a valid DSQL auth token: {why}");
}

/// <summary>Why a token was refused: the SQLSTATE to answer and a message without the token.</summary>
internal sealed record TokenFailure(string SqlState, string Reason);
