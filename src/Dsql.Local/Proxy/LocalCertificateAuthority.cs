using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Dsql.Local.Proxy;

/// <summary>
/// The emulator's own certificate authority: a root kept as PEM files in a directory (reused on the next start when the
/// directory is kept, so a client's <c>Root Certificate=</c> setting stays valid) that signs a fresh server certificate
/// for the emulator's host names at every start. Clients verify the server with <c>SSL Mode=VerifyFull</c> against it.
/// </summary>
internal static class LocalCertificateAuthority
{
    public const string RootCertificateFileName = "dsql-local-root.crt";

    private const string RootKeyFileName = "dsql-local-root.key";

    /// <summary>Loads the root from <paramref name="directory"/> (or creates it there) and issues a server certificate for <paramref name="hostNames"/>.</summary>
    /// <returns>The server certificate with its private key, and the path of the root certificate to trust.</returns>
    public static (X509Certificate2 ServerCertificate, string RootCertificatePath) Issue(string directory, IEnumerable<string> hostNames)
    {
        Directory.CreateDirectory(directory);
        var rootPath = Path.Combine(directory, RootCertificateFileName);
        var keyPath = Path.Combine(directory, RootKeyFileName);
        using var root = LoadRoot(rootPath, keyPath) ?? CreateRoot(rootPath, keyPath);
        using var rootKey = root.GetECDsaPrivateKey()
                            ?? throw new InvalidOperationException($"The root certificate in {directory} has no usable EC private key; delete {rootPath} and {keyPath} to create a new one.");

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Dsql.Local, O=Dsql.Local", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var host in hostNames.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (IPAddress.TryParse(host, out var address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(root, true, false));

        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = DateTimeOffset.UtcNow.AddYears(1) < root.NotAfter ? DateTimeOffset.UtcNow.AddYears(1) : new DateTimeOffset(root.NotAfter);
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive serial number
        using var issued = request.Create(root.SubjectName, X509SignatureGenerator.CreateForECDsa(rootKey), notBefore, notAfter, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
        return (X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null), rootPath);
    }

    private static X509Certificate2? LoadRoot(string rootPath, string keyPath)
    {
        if (!File.Exists(rootPath) || !File.Exists(keyPath))
        {
            return null;
        }

        var root = X509Certificate2.CreateFromPemFile(rootPath, keyPath);
        // A root that expires within a day is replaced rather than used to issue a certificate that dies with it.
        if (root.NotAfter.ToUniversalTime() > DateTime.UtcNow.AddDays(1))
        {
            return root;
        }

        root.Dispose();
        return null;
    }

    private static X509Certificate2 CreateRoot(string rootPath, string keyPath)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Dsql.Local root CA, O=Dsql.Local", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var root = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(10));

        // The key first, readable by the owner only, so a root certificate on disk always has its key beside it.
        var keyOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            keyOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var writer = new StreamWriter(keyPath, System.Text.Encoding.ASCII, keyOptions))
        {
            writer.Write(key.ExportPkcs8PrivateKeyPem());
        }

        File.WriteAllText(rootPath, root.ExportCertificatePem());
        return root;
    }
}
