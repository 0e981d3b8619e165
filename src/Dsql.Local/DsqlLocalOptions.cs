using System.Security.Cryptography.X509Certificates;

namespace Dsql.Local;

/// <summary>How a <see cref="DsqlLocalServer"/> listens, authenticates and where its PostgreSQL backend runs.</summary>
public sealed class DsqlLocalOptions
{
    /// <summary>The loopback TCP port to listen on; 0 (the default) picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>Where the PostgreSQL it starts keeps its data; a temporary directory when <see langword="null"/>.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// An Npgsql connection string of an existing PostgreSQL to use as the backend (its user must be a superuser);
    /// <c>docker</c> to start one with Testcontainers; <see langword="null"/> to start one from the machine's binaries.
    /// </summary>
    public string? Backend { get; set; }

    /// <summary>The AWS region tokens must be scoped to; <c>us-east-1</c> by default.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>The cluster host name tokens must be signed for; <c>localhost</c> or <c>127.0.0.1</c> when <see langword="null"/>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The access key pairs whose signatures are accepted; <see cref="DsqlLocalCredential.Default"/> when empty.</summary>
    public IList<DsqlLocalCredential> Credentials { get; } = [];

    /// <summary>Accept any password (skip token verification).</summary>
    public bool NoAuth { get; set; }

    /// <summary>Decline TLS (answer <c>N</c> to <c>SSLRequest</c>).</summary>
    public bool NoTls { get; set; }

    /// <summary>The server certificate (with its private key); a self-signed one for <c>localhost</c> when <see langword="null"/>.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>How long a connection may live before the emulator closes it, as DSQL does after one hour.</summary>
    public TimeSpan MaxConnectionAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How old a transaction may get: DSQL fails the next statement of an older one with <c>54000 transaction age limit of
    /// 300s exceeded</c> (a <c>COMMIT</c> rolls back). Five minutes, as on DSQL; shorten it to test the behaviour.
    /// </summary>
    public TimeSpan MaxTransactionAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an index build (<c>CREATE INDEX ASYNC</c>) stays unfinished before its job completes on its own; <c>CALL sys.wait_for_job</c> completes it at once.</summary>
    public TimeSpan IndexBuildDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Receives one-line diagnostics (start-up, refused logins); never secrets. Silent when <see langword="null"/>.</summary>
    public Action<string>? Log { get; set; }

    internal IReadOnlyList<DsqlLocalCredential> EffectiveCredentials => Credentials.Count > 0 ? [.. Credentials] : [DsqlLocalCredential.Default];

    internal IReadOnlyList<string> AcceptedHosts => Endpoint is { Length: > 0 } endpoint ? [endpoint] : ["localhost", "127.0.0.1"];

    internal void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "The port must be from 0 (pick a free one) to 65535.");
        }

        if (string.IsNullOrWhiteSpace(Region))
        {
            throw new ArgumentException("The region is empty; pass an AWS region such as 'us-east-1'.", nameof(Region));
        }

        if (MaxConnectionAge <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConnectionAge), MaxConnectionAge, "The maximum connection age must be positive.");
        }

        if (MaxTransactionAge <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTransactionAge), MaxTransactionAge, "The maximum transaction age must be positive.");
        }

        foreach (var credential in Credentials)
        {
            if (string.IsNullOrEmpty(credential.AccessKeyId) || string.IsNullOrEmpty(credential.SecretAccessKey))
            {
                throw new ArgumentException("Every credential needs a non-empty access key ID and secret access key.", nameof(Credentials));
            }
        }
    }
}
