using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Dsql.Local;

/// <summary>How a <see cref="DsqlLocalServer"/> listens, authenticates and where its PostgreSQL backend runs.</summary>
public sealed class DsqlLocalOptions
{
    /// <summary>The TCP port to listen on; 0 (the default) picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>
    /// The address to listen on: loopback (<c>127.0.0.1</c>) by default; <see cref="IPAddress.Any"/> or
    /// <see cref="IPAddress.IPv6Any"/> to serve other machines or containers.
    /// </summary>
    public IPAddress ListenAddress { get; set; } = IPAddress.Loopback;

    /// <summary>
    /// Where the PostgreSQL it starts keeps its data, and where the generated TLS root certificate is kept (so it stays the
    /// same across restarts); a temporary directory, deleted on dispose, when <see langword="null"/>.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// An Npgsql connection string of an existing PostgreSQL to use as the backend (its user must be a superuser), for
    /// example one running in a container; <see langword="null"/> to start one from the machine's binaries.
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

    /// <summary>
    /// The old permissive login: any role name logs in, and a missing role is created (with <c>LOGIN</c>) on the fly, with no
    /// IAM mapping needed. Off by default: as on DSQL, a role other than <c>admin</c> must have been created by admin
    /// (<c>CREATE ROLE … WITH LOGIN</c>) and mapped to the connecting key's IAM identity (<c>AWS IAM GRANT role TO 'arn'</c>).
    /// </summary>
    public bool CreateRolesOnLogin { get; set; }

    /// <summary>Decline TLS (answer <c>N</c> to <c>SSLRequest</c>).</summary>
    public bool NoTls { get; set; }

    /// <summary>
    /// The server certificate (with its private key). When <see langword="null"/>, the emulator issues one for
    /// <c>localhost</c>, <c>127.0.0.1</c>, <c>::1</c>, the listen address and the endpoint from a local root certificate
    /// written to <see cref="DsqlLocalServer.RootCertificatePath"/>, which clients trust with <c>SSL Mode=VerifyFull</c>.
    /// </summary>
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

    /// <summary>
    /// Where the emulator logs (category <c>Dsql.Local</c>): start-up, refused logins, backend failures. Secrets (secret
    /// keys, tokens) are never logged. Silent when <see langword="null"/>.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>
    /// How many logged-in connections the emulator serves at once; one more is refused with DSQL's answer
    /// (<c>53300</c>, too many connections). 400 by default. The PostgreSQL the emulator starts gets this many backend
    /// connections plus a few for the emulator's own work.
    /// </summary>
    public int MaxConnections { get; set; } = 400;

    /// <summary>
    /// How many connections may be open without having logged in yet. When one more arrives, the oldest of them is
    /// closed, so sockets that never log in cannot crowd out clients that do. 256 by default: a test suite that opens a
    /// few hundred connections at once (each TLS handshake and login takes milliseconds on a busy machine) must not have
    /// its own logins evicted.
    /// </summary>
    public int MaxPendingConnections { get; set; } = 256;

    /// <summary>
    /// How long a connection may take from accept to logged in (TLS handshake, start-up packet, token); it is closed
    /// after that, as PostgreSQL does after <c>authentication_timeout</c>. 30 seconds by default.
    /// </summary>
    public TimeSpan LoginTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Run the PostgreSQL the emulator starts with <c>fsync</c>, <c>synchronous_commit</c> and <c>full_page_writes</c>
    /// on, so every acknowledged commit survives a crash of PostgreSQL or of the machine. Off by default: a throw-away
    /// test database is much faster without the flushes, at the price that a crash may lose the last commits (and a
    /// machine crash may corrupt the data directory).
    /// </summary>
    public bool Durable { get; set; }

    /// <summary>
    /// Whether the server stops itself (and its PostgreSQL) on SIGTERM that no earlier handler cancelled; the
    /// <c>dsql-local</c> command turns it off because it handles SIGTERM itself and disposes the server.
    /// </summary>
    internal bool StopOnTermination { get; set; } = true;

    /// <summary>Test seam: accepts the next connection instead of the listener (to inject accept failures); null in use.</summary>
    internal Func<System.Net.Sockets.TcpListener, CancellationToken, ValueTask<System.Net.Sockets.TcpClient>>? AcceptOverride { get; set; }

    /// <summary>
    /// Whether statements are checked against DSQL's grammar (on, always, for users). Internal: the proxy benchmark turns it
    /// off to show what admission costs per round trip.
    /// </summary>
    internal bool GrammarAdmission { get; set; } = true;

    internal IReadOnlyList<DsqlLocalCredential> EffectiveCredentials => Credentials.Count > 0 ? [.. Credentials] : [DsqlLocalCredential.Default];

    internal IReadOnlyList<string> AcceptedHosts => Endpoint is { Length: > 0 } endpoint ? [endpoint] : ["localhost", "127.0.0.1"];

    /// <summary>The names the generated server certificate is valid for: loopback, the listen address, the endpoint.</summary>
    internal IEnumerable<string> CertificateHostNames
    {
        get
        {
            string[] loopback = ["localhost", "127.0.0.1", "::1"];
            foreach (var name in loopback)
            {
                yield return name;
            }

            if (ListenAddress.Equals(IPAddress.Any) || ListenAddress.Equals(IPAddress.IPv6Any))
            {
                // Serving other machines: they reach it by this machine's name.
                yield return Dns.GetHostName();
            }
            else
            {
                yield return ListenAddress.ToString();
            }

            if (Endpoint is { Length: > 0 } endpoint)
            {
                yield return endpoint;
            }
        }
    }

    internal void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "The port must be from 0 (pick a free one) to 65535.");
        }

        if (ListenAddress is null)
        {
            throw new ArgumentNullException(nameof(ListenAddress), "The listen address is null; use IPAddress.Loopback (the default) or IPAddress.Any.");
        }

        if (string.Equals(Backend?.Trim(), "docker", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException(
                "The backend 'docker' is not supported: Dsql.Local does not start containers. Start PostgreSQL in a container yourself " +
                "(for example 'docker run -d -p 5433:5432 -e POSTGRES_PASSWORD=pw postgres:17') and pass its superuser connection string " +
                "(--backend \"Host=127.0.0.1;Port=5433;Username=postgres;Password=pw\"), or omit the backend to start PostgreSQL from this machine's binaries.",
                nameof(Backend));
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

        if (MaxConnections < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "The connection limit must be at least 1.");
        }

        if (MaxPendingConnections < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxPendingConnections), MaxPendingConnections, "The pending-connection limit must be at least 1.");
        }

        if (LoginTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(LoginTimeout), LoginTimeout, "The login timeout must be positive.");
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
