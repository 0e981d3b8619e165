using System.Runtime.InteropServices;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Amazon;
using Amazon.Runtime;
using Dsql.Local.Auth;
using Dsql.Local.Backend;
using Dsql.Local.Proxy;
using Dsql.Npgsql;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dsql.Local;

/// <summary>
/// A local Aurora DSQL emulator: a PostgreSQL wire-protocol proxy (on loopback unless told otherwise) in front of a real PostgreSQL, that checks
/// IAM tokens and applies DSQL's dialect, transaction rules and optimistic concurrency.
/// </summary>
/// <example>
/// <code>
/// await using var dsql = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
/// await using var dataSource = dsql.CreateDataSource();
/// </code>
/// </example>
public sealed class DsqlLocalServer : IAsyncDisposable
{
    private readonly DsqlLocalOptions _options;
    private readonly TcpListener _listener;
    private readonly Context _context;
    private readonly IAsyncDisposable? _ownedBackend;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<ClientSession, byte> _sessions = new();
    private readonly ConcurrentDictionary<ClientSession, long> _pending = new();
    private readonly Lock _admission = new();
    private readonly PostgresInstance? _supervisedBackend;
    private long _accepted;
    private readonly ConcurrentDictionary<string, byte> _loginReady = new(StringComparer.Ordinal);
    private readonly string? _loginSecret;
    private readonly NpgsqlDataSource _backendAdmin;
    private readonly Action<string>? _log;
    private readonly string? _ownedTlsDirectory;
    private Task _acceptLoop = Task.CompletedTask;
    private Task _jobLoop = Task.CompletedTask;
    private Task _supervisor = Task.CompletedTask;
    private int _disposed;
    private EventHandler? _onProcessExit;
    private PosixSignalRegistration? _onTerminate;
    private int _terminating;

    private DsqlLocalServer(DsqlLocalOptions options, TcpListener listener, string backendConnectionString, IAsyncDisposable? ownedBackend, Tls tls)
    {
        _options = options;
        _listener = listener;
        _ownedBackend = ownedBackend;
        _ownedTlsDirectory = tls.OwnedDirectory;
        RootCertificatePath = tls.RootCertificatePath;
        _supervisedBackend = ownedBackend as PostgresInstance;
        BackendConnectionString = backendConnectionString;
        _backendAdmin = NpgsqlDataSource.Create(backendConnectionString);
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var logger = options.LoggerFactory?.CreateLogger("Dsql.Local");
        _log = logger is null ? null : line => logger.Log(LogLevel.Information, default, line, null, static (text, _) => text);
        _context = new Context(this, tls.Certificate, BackendEndpoint.FromConnectionString(backendConnectionString));
        // Client roles log in to a backend that asks for passwords with a secret of this run (trust needs none).
        _loginSecret = _context.Backend.Password is null ? null : Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
    }

    /// <summary>
    /// The address clients on this machine connect to: the listen address, or loopback when listening on all interfaces.
    /// </summary>
    public string Host => _options.ListenAddress switch
    {
        var any when any.Equals(IPAddress.Any) => "127.0.0.1",
        var any when any.Equals(IPAddress.IPv6Any) => "::1",
        var address => address.ToString(),
    };

    /// <summary>
    /// The PEM file of the root certificate that signed the emulator's TLS certificate, for
    /// <c>SSL Mode=VerifyFull;Root Certificate=…</c>; <see langword="null"/> when TLS is off or the certificate was
    /// supplied through <see cref="DsqlLocalOptions.Certificate"/>. It lives in <see cref="DsqlLocalOptions.DataDirectory"/>
    /// (and stays the same across restarts) when one is given, else in a temporary directory deleted on dispose.
    /// </summary>
    public string? RootCertificatePath { get; }

    /// <summary>The TCP port the emulator listens on.</summary>
    public int Port { get; }

    /// <summary>The host name tokens must be signed for: the configured endpoint, else <c>localhost</c>.</summary>
    public string Endpoint => _options.Endpoint is { Length: > 0 } endpoint ? endpoint : "localhost";

    /// <summary>The AWS region tokens must be scoped to.</summary>
    public string Region => _options.Region;

    /// <summary>The first configured credential, the one <see cref="GenerateAuthToken"/> signs with.</summary>
    public DsqlLocalCredential Credential => _options.EffectiveCredentials[0];

    /// <summary>Whether the emulator offers TLS (and therefore requires it, as DSQL does).</summary>
    public bool TlsEnabled => _context.Certificate is not null;

    /// <summary>
    /// An Npgsql connection string straight to the backend PostgreSQL (its superuser, no emulation): for test set-up and
    /// inspection. Objects created through it belong to that superuser, not to <c>admin</c>: run <c>SET ROLE admin</c> first
    /// to create objects that DSQL's <c>admin</c> may then use.
    /// </summary>
    public string BackendConnectionString { get; }

    /// <summary>How many client connections are open.</summary>
    public int ConnectionCount => _sessions.Count;

    /// <summary>The bytes the logged-in sessions hold in their relay buffers: bounded however much a query returns.</summary>
    internal long RelayBufferedBytes => _sessions.Keys.Sum(s => s.BufferedBytes);

    /// <summary>How many accepted connections have not logged in yet.</summary>
    internal int PendingConnectionCount => _pending.Count;

    /// <summary>How many times the backend PostgreSQL was found dead and started again.</summary>
    internal int BackendRestarts { get; private set; }

    /// <summary>Starts the emulator: its backend PostgreSQL (unless one is given) and the loopback listener.</summary>
    /// <param name="options">The configuration; defaults when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running emulator; dispose it to stop it and any PostgreSQL it started.</returns>
    public static async Task<DsqlLocalServer> StartAsync(DsqlLocalOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new DsqlLocalOptions();
        options.Validate();

        IAsyncDisposable? owned = null;
        string backend;
        if (string.IsNullOrWhiteSpace(options.Backend))
        {
            var settings = new PostgresSettings
            {
                DataDirectory = options.DataDirectory,
                Durable = options.Durable,
                MaxConnections = options.MaxConnections + ReservedBackendConnections,
            };
            var instance = await PostgresInstance.StartAsync(settings, cancellationToken).ConfigureAwait(false);
            owned = instance;
            backend = instance.ConnectionString;
        }
        else
        {
            backend = options.Backend;
        }

        TcpListener? listener = null;
        Tls? tls = null;
        try
        {
            await BootstrapAsync(backend, cancellationToken).ConfigureAwait(false);
            listener = new TcpListener(options.ListenAddress, options.Port);
            listener.Start(512);
            tls = Tls.Create(options);
            var server = new DsqlLocalServer(options, listener, backend, owned, tls);
            server._acceptLoop = server.AcceptLoopAsync();
            server._jobLoop = server.JobLoopAsync();
            server._supervisor = server.SuperviseBackendAsync();
            // A host that exits without disposing the server (SIGTERM to a process that does not handle it, Environment.Exit,
            // the end of Main) must not leave the PostgreSQL, its temporary data directory or the TLS directory behind.
            server._onProcessExit = (_, _) => server.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
            AppDomain.CurrentDomain.ProcessExit += server._onProcessExit;
            server.StopOnTerminate(options);
            server.Log(
                $"Dsql.Local listening on {new IPEndPoint(options.ListenAddress, server.Port)} (region {options.Region}, endpoint {string.Join("/", options.AcceptedHosts)}, " +
                $"{(options.NoAuth ? "no auth" : "IAM auth, access key ID " + string.Join(", ", options.EffectiveCredentials.Select(c => c.AccessKeyId)))}, " +
                $"{(options.NoTls ? "no TLS" : server.RootCertificatePath is { } root ? "TLS, root certificate " + root : "TLS")})");
            return server;
        }
        catch
        {
            listener?.Stop();
            tls?.DeleteOwnedDirectory();
            if (owned is not null)
            {
                await owned.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>Generates a valid auth token for <paramref name="user"/> (<c>DbConnectAdmin</c> for <c>admin</c>) with the emulator's credentials.</summary>
    /// <param name="user">The role to connect as.</param>
    /// <param name="expiresIn">The token lifetime; 15 minutes when <see langword="null"/>.</param>
    /// <returns>The token, to be used as the password.</returns>
    public string GenerateAuthToken(string user = "admin", TimeSpan? expiresIn = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        var credentials = new BasicAWSCredentials(Credential.AccessKeyId, Credential.SecretAccessKey);
        var region = RegionEndpoint.GetBySystemName(Region);
        return user == "admin"
            ? DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(credentials, region, Endpoint, expiresIn)
            : DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(credentials, region, Endpoint, expiresIn);
    }

    /// <summary>
    /// An Npgsql connection string for <paramref name="user"/> with a freshly generated token (valid for
    /// <paramref name="tokenLifetime"/>, 12 hours by default), TLS when enabled (<c>VerifyFull</c> against
    /// <see cref="RootCertificatePath"/> when the emulator issued its certificate), and no reset on close (DSQL refuses DISCARD ALL).
    /// </summary>
    /// <param name="user">The role to connect as.</param>
    /// <param name="tokenLifetime">How long the embedded token stays valid.</param>
    /// <returns>The connection string.</returns>
    public string GetConnectionString(string user = "admin", TimeSpan? tokenLifetime = null)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Database = "postgres",
            Username = user,
            Password = GenerateAuthToken(user, tokenLifetime ?? TimeSpan.FromHours(12)),
            SslMode = !TlsEnabled ? SslMode.Disable : RootCertificatePath is null ? SslMode.Require : SslMode.VerifyFull,
            RootCertificate = RootCertificatePath,
            NoResetOnClose = true,
        };
        return builder.ConnectionString;
    }

    /// <summary>An <see cref="NpgsqlDataSource"/> for <paramref name="user"/> whose connections sign a fresh token each time.</summary>
    /// <param name="user">The role to connect as.</param>
    /// <param name="configure">Further configuration of the builder.</param>
    /// <returns>The data source; the caller disposes it.</returns>
    public NpgsqlDataSource CreateDataSource(string user = "admin", Action<NpgsqlDataSourceBuilder>? configure = null)
    {
        var builder = new NpgsqlDataSourceBuilder(GetConnectionString(user));
        builder.ConnectionStringBuilder.Password = null;
        builder.UsePasswordProvider(_ => GenerateAuthToken(user), (_, _) => ValueTask.FromResult(GenerateAuthToken(user)));
        configure?.Invoke(builder);
        return builder.Build();
    }

    /// <summary>
    /// Makes the next <paramref name="count"/> commits fail with DSQL's conflict error (<c>40001</c>, OC000), for testing
    /// retry logic: an explicit transaction fails at COMMIT, an autocommit write fails itself. With
    /// <paramref name="applicationName"/>, only sessions that connected with that <c>Application Name</c> are affected.
    /// Inside a session, <c>SELECT dsql_local.inject_conflict()</c> does the same for that session's next commit.
    /// </summary>
    /// <param name="count">How many commits to fail; 0 cancels pending injections.</param>
    /// <param name="applicationName">Restrict to sessions with this application name.</param>
    public void InjectConflicts(int count = 1, string? applicationName = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _context.Conflicts.Inject(count, applicationName);
    }

    /// <summary>Closes every client connection (as DSQL does when connections reach their maximum age).</summary>
    public void CloseAllConnections(string reason = "terminating connection due to administrator command")
    {
        foreach (var session in _sessions.Keys)
        {
            session.Terminate(reason);
        }
    }

    /// <summary>Stops listening, closes all connections and stops any PostgreSQL the emulator started.</summary>
    /// <returns>A task that completes when everything has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_onProcessExit is not null)
        {
            AppDomain.CurrentDomain.ProcessExit -= _onProcessExit;
        }

        if (Volatile.Read(ref _terminating) == 0)
        {
            // Not from inside the signal handler: the process goes on, so the registration goes.
            _onTerminate?.Dispose();
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        foreach (var session in _sessions.Keys)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            await Task.WhenAll(_acceptLoop, _jobLoop, _supervisor).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _backendAdmin.DisposeAsync().ConfigureAwait(false);
        NpgsqlConnection.ClearAllPools();
        if (_ownedBackend is not null)
        {
            await _ownedBackend.DisposeAsync().ConfigureAwait(false);
        }

        if (RootCertificatePath is not null)
        {
            _context.Certificate?.Dispose(); // issued here; a supplied certificate belongs to the caller
        }

        Tls.DeleteDirectory(_ownedTlsDirectory);
        _stopping.Dispose();
    }

    /// <summary>
    /// SIGTERM to a host that does not handle it ends the process without <c>ProcessExit</c>: stop here first, unless a
    /// handler that ran before this one cancelled the signal (the host shuts down itself, and disposes or exits later) or
    /// the host said it handles termination (the <c>dsql-local</c> command).
    /// </summary>
    private void StopOnTerminate(DsqlLocalOptions options)
    {
        if (!options.StopOnTermination)
        {
            return;
        }

        try
        {
            _onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                if (context.Cancel)
                {
                    return;
                }

                Volatile.Write(ref _terminating, 1);
                DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
            });
        }
        catch (PlatformNotSupportedException)
        {
            // No POSIX signals here (WebAssembly): ProcessExit still covers an orderly exit.
        }
    }

    private static async Task BootstrapAsync(string backendConnectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(backendConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var refused = string.Join(',', BackendSchema.RefusedFunctions);
        // synchronous_commit: the schema and the admin role must survive a backend crash right after start-up.
        await using var command = new NpgsqlCommand(
            $"SET synchronous_commit = on; SET dsql_local.refused_functions = '{refused}';\n{BackendSchema.Sql}", connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await using var quotas = new NpgsqlCommand(QuotaSchema.Sql, connection);
        await quotas.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Connections the emulator's own work needs on the backend besides its clients' (admin pool, job loop, cancels).</summary>
    private const int ReservedBackendConnections = 10;

    private void Log(string line) => _log?.Invoke(LogText.Escape(line));

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient? client = null;
            try
            {
                client = await (_options.AcceptOverride?.Invoke(_listener, _stopping.Token) ?? _listener.AcceptTcpClientAsync(_stopping.Token)).ConfigureAwait(false);
                var session = new ClientSession(_context, client, _stopping.Token);
                AdmitPending(session);
                _ = Task.Run(session.RunAsync);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                client?.Dispose();
                return;
            }
            catch (Exception e)
            {
                // Out of descriptors, a connection reset before accept, a socket that fails before its session starts, anything:
                // one failed accept must not stop the listener. A short pause keeps a persistent failure from spinning.
                client?.Dispose();
                Log($"accepting a connection failed: {e.GetType().Name}: {e.Message}");
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Tracks a connection until it logs in; over the limit, the oldest one still not logged in is closed.</summary>
    private void AdmitPending(ClientSession session)
    {
        ClientSession? evicted = null;
        lock (_admission)
        {
            _pending[session] = ++_accepted;
            if (_pending.Count > _options.MaxPendingConnections)
            {
                evicted = _pending.MinBy(p => p.Value).Key;
                _pending.TryRemove(evicted, out _);
            }
        }

        evicted?.Abort();
    }

    private bool TryAdmitLoggedIn(ClientSession session)
    {
        lock (_admission)
        {
            _pending.TryRemove(session, out _);
            if (_sessions.Count >= _options.MaxConnections)
            {
                return false;
            }

            _sessions.TryAdd(session, 0);
            return true;
        }
    }

    /// <summary>
    /// Watches the PostgreSQL the emulator started: when it dies (killed, crashed), say so and start it again on the same
    /// data directory and socket, so clients get a working backend rather than an endless <c>08006</c>.
    /// </summary>
    private async Task SuperviseBackendAsync()
    {
        if (_supervisedBackend is not { } backend)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                if (backend.IsRunning)
                {
                    continue;
                }

                Log("the backend PostgreSQL has stopped unexpectedly; restarting it");
                try
                {
                    await backend.RestartAsync(_stopping.Token).ConfigureAwait(false);
                    _backendAdmin.Clear();
                    BackendRestarts++;
                    Log("the backend PostgreSQL has been restarted");
                }
                catch (InvalidOperationException e)
                {
                    Log($"restarting the backend PostgreSQL failed (retrying): {e.Message}");
                }
                catch (NpgsqlException e)
                {
                    Log($"restarting the backend PostgreSQL failed (retrying): {e.Message}");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Completes index builds in the background after <see cref="DsqlLocalOptions.IndexBuildDelay"/>, as DSQL's job runner does.</summary>
    private async Task JobLoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                try
                {
                    await using var command = _backendAdmin.CreateCommand("SELECT dsql_local.complete_jobs(NULL, $1)");
                    command.Parameters.Add(new NpgsqlParameter { Value = _options.IndexBuildDelay });
                    await command.ExecuteScalarAsync(_stopping.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
                {
                    // The backend is restarting or shutting down; the next tick retries.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// DSQL's login rule: <c>admin</c> always (its token was checked for <c>DbConnectAdmin</c>); any other role must exist, be
    /// allowed to log in, be an ordinary role (never a superuser or a predefined role), and be mapped to the IAM identity of
    /// the key that signed the token (<c>AWS IAM GRANT</c>). <see cref="DsqlLocalOptions.CreateRolesOnLogin"/> restores the
    /// old permissive login; without token verification there is no identity to map, so only the role itself is checked.
    /// </summary>
    private async Task<LoginDecision> AuthorizeLoginAsync(string role, string? accessKeyId, CancellationToken cancellationToken)
    {
        var endpoint = _context.Backend with { User = role, Password = _loginSecret };
        if (role != "admin")
        {
            if (_options.CreateRolesOnLogin && !_loginReady.ContainsKey(role))
            {
                await using var create = _backendAdmin.CreateCommand(
                    $"DO $r$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {Quote(role, '\'')}) THEN CREATE ROLE {Quote(role, '"')} LOGIN; END IF; END $r$");
                try
                {
                    await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (PostgresException e) when (e.SqlState == "23505")
                {
                    // Created concurrently by another session's login.
                }
            }

            var arn = accessKeyId is null ? null : _options.EffectiveCredentials.LastOrDefault(c => c.AccessKeyId == accessKeyId)?.EffectiveIamArn;
            await using var check = _backendAdmin.CreateCommand("""
                SELECT dsql_local.is_client_role(r.rolname), r.rolcanlogin,
                       EXISTS (SELECT FROM dsql_local.iam_role_mappings m WHERE m.pg_role_oid = r.oid AND m.arn = $2)
                FROM pg_roles r WHERE r.rolname = $1
                """);
            check.Parameters.Add(new NpgsqlParameter { Value = role });
            check.Parameters.Add(new NpgsqlParameter { Value = (object?)arn ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            await using var reader = await check.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return LoginDecision.Refuse(
                    $"role \"{role}\" does not exist; as admin, run CREATE ROLE {role} WITH LOGIN and AWS IAM GRANT {role} TO '{arn ?? "<IAM ARN>"}'");
            }

            if (!reader.GetBoolean(0))
            {
                return LoginDecision.Refuse($"role \"{role}\" cannot log in with IAM authentication");
            }

            if (!reader.GetBoolean(1))
            {
                return LoginDecision.Refuse($"role \"{role}\" is not permitted to log in; create it WITH LOGIN");
            }

            if (arn is not null && !_options.CreateRolesOnLogin && !reader.GetBoolean(2))
            {
                return LoginDecision.Refuse(
                    $"the IAM identity {arn} is not mapped to role \"{role}\"; as admin, run AWS IAM GRANT {role} TO '{arn}' " +
                    "(or start the emulator with --create-roles-on-login for the old permissive login)");
            }
        }

        if (_loginSecret is not null && !_loginReady.ContainsKey(role))
        {
            // The backend asks for passwords: the role logs in with this run's secret, which only the emulator knows.
            await using var password = _backendAdmin.CreateCommand($"ALTER ROLE {Quote(role, '"')} PASSWORD {Quote(_loginSecret, '\'')}");
            await password.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        _loginReady.TryAdd(role, 0);
        return LoginDecision.Allow(endpoint);
    }

    private static string Quote(string value, char quote) => quote + value.Replace(quote.ToString(), new string(quote, 2), StringComparison.Ordinal) + quote;

    private sealed class Context(DsqlLocalServer server, X509Certificate2? certificate, BackendEndpoint backend) : ServerContext
    {
        private readonly DsqlTokenVerifier? _verifier = server._options.NoAuth
            ? null
            : new DsqlTokenVerifier(server._options.EffectiveCredentials, server._options.Region, server._options.AcceptedHosts);

        public override X509Certificate2? Certificate => certificate;

        public override DsqlTokenVerifier? Verifier => _verifier;

        public override BackendEndpoint Backend => backend;

        public override DsqlDialect Dialect { get; } = new() { CheckGrammar = server._options.GrammarAdmission };

        public override ConflictCoordinator Conflicts { get; } = new();

        public override TimeSpan MaxConnectionAge => server._options.MaxConnectionAge;

        public override TimeSpan MaxTransactionAge => server._options.MaxTransactionAge;

        public override Action<string>? Log => server._log is null ? null : server.Log;

        public override TimeSpan LoginTimeout => server._options.LoginTimeout;

        public override Task<LoginDecision> AuthorizeLoginAsync(string role, string? accessKeyId, CancellationToken cancellationToken)
            => server.AuthorizeLoginAsync(role, accessKeyId, cancellationToken);

        public override bool TryRegister(ClientSession session) => server.TryAdmitLoggedIn(session);

        public override void Unregister(ClientSession session)
        {
            server._sessions.TryRemove(session, out _);
            server._pending.TryRemove(session, out _);
        }
    }

    /// <summary>The certificate the emulator serves, and where the root that signed it was written (when it issued it).</summary>
    private sealed record Tls(X509Certificate2? Certificate, string? RootCertificatePath, string? OwnedDirectory)
    {
        public static Tls Create(DsqlLocalOptions options)
        {
            if (options.NoTls)
            {
                return new Tls(null, null, null);
            }

            if (options.Certificate is not null)
            {
                return new Tls(options.Certificate, null, null);
            }

            var owned = options.DataDirectory is null ? Directory.CreateTempSubdirectory("dsql-local-tls-").FullName : null;
            var directory = owned ?? Path.Combine(Path.GetFullPath(options.DataDirectory!), "tls");
            try
            {
                var (certificate, root) = LocalCertificateAuthority.Issue(directory, options.CertificateHostNames);
                return new Tls(certificate, root, owned);
            }
            catch
            {
                DeleteDirectory(owned);
                throw;
            }
        }

        public void DeleteOwnedDirectory() => DeleteDirectory(OwnedDirectory);

        public static void DeleteDirectory(string? directory)
        {
            try
            {
                if (directory is not null)
                {
                    Directory.Delete(directory, recursive: true);
                }
            }
            catch (IOException)
            {
                // Already gone, or held open by something else: a temporary directory either way.
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"Dsql.Local on {Host}:{Port}");
}
