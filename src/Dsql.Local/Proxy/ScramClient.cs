using System.Security.Cryptography;

namespace Dsql.Local.Proxy;

/// <summary>The client side of SCRAM-SHA-256 (RFC 7677), for backends that require password authentication.</summary>
internal sealed class ScramClient(string password)
{
    private readonly string _clientNonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
    private byte[]? _serverSignature;

    public string ClientFirstMessage => "n,,n=,r=" + _clientNonce;

    private string ClientFirstBare => "n=,r=" + _clientNonce;

    public string ClientFinalMessage(string serverFirst)
    {
        var attributes = serverFirst.Split(',').Where(a => a.Length > 2).ToDictionary(a => a[0], a => a[2..]);
        var nonce = attributes['r'];
        if (!nonce.StartsWith(_clientNonce, StringComparison.Ordinal))
        {
            throw new InvalidOperationException("The backend's SCRAM nonce does not extend ours.");
        }

        var salt = Convert.FromBase64String(attributes['s']);
        var iterations = int.Parse(attributes['i'], System.Globalization.CultureInfo.InvariantCulture);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var withoutProof = "c=biws,r=" + nonce;
        var authMessage = Encoding.UTF8.GetBytes($"{ClientFirstBare},{serverFirst},{withoutProof}");
        var signature = HMACSHA256.HashData(storedKey, authMessage);
        var proof = new byte[clientKey.Length];
        for (var i = 0; i < proof.Length; i++)
        {
            proof[i] = (byte)(clientKey[i] ^ signature[i]);
        }

        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        _serverSignature = HMACSHA256.HashData(serverKey, authMessage);
        return withoutProof + ",p=" + Convert.ToBase64String(proof);
    }

    public void VerifyServerFinal(string serverFinal)
    {
        var verifier = serverFinal.Split(',').FirstOrDefault(a => a.StartsWith("v=", StringComparison.Ordinal));
        if (verifier is null || _serverSignature is null
            || !CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(verifier[2..]), _serverSignature))
        {
            throw new InvalidOperationException("The backend PostgreSQL's SCRAM server signature is wrong.");
        }
    }
}
