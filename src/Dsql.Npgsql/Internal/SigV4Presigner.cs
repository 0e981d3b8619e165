using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Dsql.Npgsql.Internal;

/// <summary>
/// A minimal AWS Signature Version 4 query-string presigner for the one request shape DSQL tokens use:
/// <c>GET https://{host}/?Action={action}</c>, service <c>dsql</c>, signed header <c>host</c>, empty payload.
/// It is local (no network), allocation-light and verified against tokens from the official AWS signer.
/// </summary>
internal static class SigV4Presigner
{
    internal const string Algorithm = "AWS4-HMAC-SHA256";
    internal const string Service = "dsql";
    internal const string TerminationString = "aws4_request";

    // SHA-256 of the empty payload; presigned GETs sign an empty body.
    private const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// <summary>Builds the presigned token (the URL without its <c>https://</c> scheme).</summary>
    internal static string Presign(
        string host,
        string region,
        string action,
        string accessKeyId,
        string secretAccessKey,
        string? sessionToken,
        DateTime signingTimeUtc,
        int expiresInSeconds)
    {
        var amzDate = signingTimeUtc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var dateStamp = amzDate[..8];
        var credentialScope = string.Concat(dateStamp, "/", region, "/", Service, "/", TerminationString);

        // Query parameters in canonical (byte-wise sorted) order; X-Amz-Signature slots in between
        // X-Amz-Security-Token and X-Amz-SignedHeaders in the final token, matching the AWS signers' output.
        var query = new StringBuilder(512);
        query.Append("Action=").Append(UriEncode(action));
        query.Append("&X-Amz-Algorithm=").Append(Algorithm);
        query.Append("&X-Amz-Credential=").Append(UriEncode(accessKeyId + "/" + credentialScope));
        query.Append("&X-Amz-Date=").Append(amzDate);
        query.Append("&X-Amz-Expires=").Append(expiresInSeconds.ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(sessionToken))
        {
            query.Append("&X-Amz-Security-Token=").Append(UriEncode(sessionToken));
        }

        var prefix = query.ToString();
        const string signedHeadersParameter = "X-Amz-SignedHeaders=host";

        var canonicalRequest = string.Concat(
            "GET\n/\n",
            prefix, "&", signedHeadersParameter, "\n",
            "host:", host.Trim(), "\n\n",
            "host\n",
            EmptyPayloadHash);

        var stringToSign = string.Concat(
            Algorithm, "\n",
            amzDate, "\n",
            credentialScope, "\n",
            HexSha256(canonicalRequest));

        var signature = Sign(secretAccessKey, dateStamp, region, stringToSign);

        return string.Concat(host, "/?", prefix, "&X-Amz-Signature=", signature, "&", signedHeadersParameter);
    }

    /// <summary>Computes the hex SigV4 signature of <paramref name="stringToSign"/>.</summary>
    internal static string Sign(string secretAccessKey, string dateStamp, string region, string stringToSign)
    {
        Span<byte> key = stackalloc byte[32];
        var secretBytes = Encoding.UTF8.GetBytes("AWS4" + secretAccessKey);
        try
        {
            HmacInto(secretBytes, dateStamp, key);
            HmacInto(key, region, key);
            HmacInto(key, Service, key);
            HmacInto(key, TerminationString, key);
            HmacInto(key, stringToSign, key);
            return Convert.ToHexStringLower(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secretBytes);
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static void HmacInto(ReadOnlySpan<byte> key, string data, Span<byte> destination)
        => HashUtf8(data, key, keyed: true, destination);

    private static string HexSha256(string text)
    {
        Span<byte> hash = stackalloc byte[32];
        HashUtf8(text, default, keyed: false, hash);
        return Convert.ToHexStringLower(hash);
    }

    // HMAC-SHA256 under key (keyed) or SHA-256 of data's UTF-8 bytes, encoded on the stack unless they are long.
    private static void HashUtf8(string data, ReadOnlySpan<byte> key, bool keyed, Span<byte> destination)
    {
        var byteCount = Encoding.UTF8.GetByteCount(data);
        byte[]? rented = null;
        var buffer = byteCount <= 2048 ? stackalloc byte[byteCount] : (rented = ArrayPool<byte>.Shared.Rent(byteCount)).AsSpan(0, byteCount);
        try
        {
            Encoding.UTF8.GetBytes(data, buffer);
            // The key may alias the destination; the hash reads the key fully before its output is copied there.
            Span<byte> result = stackalloc byte[32];
            if (keyed)
            {
                HMACSHA256.HashData(key, buffer, result);
            }
            else
            {
                SHA256.HashData(buffer, result);
            }

            result.CopyTo(destination);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>RFC 3986 percent-encoding as SigV4 requires: unreserved characters stay, everything else is %XX (upper case).</summary>
    internal static string UriEncode(string value)
    {
        var needsEncoding = false;
        foreach (var c in value)
        {
            if (!IsUnreserved(c))
            {
                needsEncoding = true;
                break;
            }
        }

        if (!needsEncoding)
        {
            return value;
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        var builder = new StringBuilder(bytes.Length * 3);
        foreach (var b in bytes)
        {
            if (b < 128 && IsUnreserved((char)b))
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    private static bool IsUnreserved(char c)
        => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.' or '~';
}
