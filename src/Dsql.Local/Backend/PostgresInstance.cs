using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Npgsql;

namespace Dsql.Local.Backend;

/// <summary>
/// A throw-away PostgreSQL server started from the machine's own binaries (<c>initdb</c> + <c>pg_ctl</c>). It listens only
/// on a unix socket in a private directory (mode 0700), so no other local user can reach it; a loopback TCP listener,
/// guarded by a generated SCRAM password, is opened only when asked for. Used as the emulator's backend and as the
/// plain-PostgreSQL baseline in tests.
/// </summary>
/// <remarks>
/// PostgreSQL refuses to run as root; when the current process is root the server runs as the <c>postgres</c> user
/// (created by Debian's <c>postgresql</c> package) and its data directory is handed to that user.
/// </remarks>
public sealed class PostgresInstance : IAsyncDisposable, IDisposable
{
    private const string ServiceUser = "postgres";

    // sun_path holds 108 bytes; PostgreSQL appends "/.s.PGSQL.<port>" to the directory.
    private const int MaxSocketDirectoryLength = 90;

    private readonly PostgresBinaries _binaries;
    private readonly PostgresSettings _settings;
    private readonly bool _ownsDataDirectory;
    private readonly string _rootDirectory;
    private readonly string? _ownedSocketDirectory;
    private readonly string? _password;
    private int _stopped;

    private PostgresInstance(
        PostgresBinaries binaries, PostgresSettings settings, string rootDirectory, string dataDirectory, bool ownsDataDirectory,
        string socketDirectory, bool ownsSocketDirectory, int port, string? password)
    {
        _binaries = binaries;
        _settings = settings;
        _rootDirectory = rootDirectory;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        SocketDirectory = socketDirectory;
        _ownedSocketDirectory = ownsSocketDirectory ? socketDirectory : null;
        Port = port;
        _password = password;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    /// <summary>
    /// Where <see cref="ConnectionString"/> connects: <c>127.0.0.1</c> when the server also listens on TCP, else the
    /// private unix socket directory.
    /// </summary>
    public string Host => _settings.ListenOnTcp ? "127.0.0.1" : SocketDirectory;

    /// <summary>The server's port: its TCP port when it listens on TCP, and the number in its unix socket's name.</summary>
    public int Port { get; }

    /// <summary>The private directory (mode 0700) holding the server's unix socket.</summary>
    public string SocketDirectory { get; }

    /// <summary>The PostgreSQL data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>The server's major version, for example 15.</summary>
    public int MajorVersion => _binaries.MajorVersion;

    /// <summary>
    /// An Npgsql connection string for the superuser <c>postgres</c> on database <c>postgres</c>, through the private unix
    /// socket.
    /// </summary>
    public string ConnectionString
        => $"Host={SocketDirectory};Port={Port.ToString(CultureInfo.InvariantCulture)};Username={ServiceUser};Database=postgres;Pooling=true;Include Error Detail=true";

    /// <summary>
    /// An Npgsql connection string for the superuser over loopback TCP, with its generated password; <see langword="null"/>
    /// unless the server was started with a TCP listener.
    /// </summary>
    internal string? TcpConnectionString
        => _password is null
            ? null
            : $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username={ServiceUser};Password={_password};Database=postgres;Pooling=true;Include Error Detail=true";

    /// <summary>The postmaster's process ID, read from its pid file; <see langword="null"/> when it is not running.</summary>
    internal int? PostmasterProcessId => ReadPostmasterPid(DataDirectory) is { } pid && IsAlive(pid) ? pid : null;

    /// <summary>
    /// Creates a data directory (unless <paramref name="dataDirectory"/> already holds one) and starts PostgreSQL on a
    /// private unix socket.
    /// </summary>
    /// <param name="dataDirectory">Where to keep the data; a temporary directory, deleted on dispose, when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="InvalidOperationException">PostgreSQL is not installed, or failed to start (the message carries its log).</exception>
    public static Task<PostgresInstance> StartAsync(string? dataDirectory = null, CancellationToken cancellationToken = default)
        => StartAsync(new PostgresSettings { DataDirectory = dataDirectory }, cancellationToken);

    /// <summary>Starts PostgreSQL with <paramref name="settings"/>.</summary>
    internal static async Task<PostgresInstance> StartAsync(PostgresSettings settings, CancellationToken cancellationToken = default)
    {
        var binaries = PostgresBinaries.Find();
        var ownsDataDirectory = settings.DataDirectory is null;
        var root = settings.DataDirectory is null
            ? Directory.CreateTempSubdirectory("dsql-local-pg-").FullName
            : Path.GetFullPath(settings.DataDirectory);
        Directory.CreateDirectory(root);
        var pgData = Path.Combine(root, "pgdata");

        var socketDirectory = Path.Combine(root, "socket");
        var ownsSocketDirectory = socketDirectory.Length > MaxSocketDirectoryLength;
        if (ownsSocketDirectory)
        {
            // A deep data directory would make the socket path too long: keep the socket in a private temporary directory.
            socketDirectory = Directory.CreateTempSubdirectory("dsql-pg-").FullName;
        }

        Directory.CreateDirectory(socketDirectory);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(socketDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        HandToServiceUser(root);
        if (ownsSocketDirectory)
        {
            HandToServiceUser(socketDirectory);
        }

        try
        {
            if (!File.Exists(Path.Combine(pgData, "PG_VERSION")))
            {
                await RunAsync(binaries, binaries.InitDb,
                    ["-D", pgData, "-U", ServiceUser, "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
                    cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await StopStaleServerAsync(binaries, pgData, cancellationToken).ConfigureAwait(false);
            }

            // Written at every start: data directories made by older versions trusted loopback TCP logins.
            await File.WriteAllTextAsync(Path.Combine(pgData, "pg_hba.conf"), HbaRules, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            CleanUp(ownsDataDirectory ? root : null, ownsSocketDirectory ? socketDirectory : null);
            throw;
        }

        const int attempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            var port = settings.ListenOnTcp ? FreeLoopbackPort() : 5432;
            var password = settings.ListenOnTcp ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)) : null;
            var instance = new PostgresInstance(binaries, settings, root, pgData, ownsDataDirectory, socketDirectory, ownsSocketDirectory, port, password);
            try
            {
                await instance.StartServerAsync(cancellationToken).ConfigureAwait(false);
                await instance.SetPasswordAsync(cancellationToken).ConfigureAwait(false);
                await File.WriteAllTextAsync(Path.Combine(root, OwnerFileName), Environment.ProcessId.ToString(CultureInfo.InvariantCulture), cancellationToken)
                    .ConfigureAwait(false);
                return instance;
            }
            catch (InvalidOperationException) when (attempt < attempts && settings.ListenOnTcp)
            {
                // Most likely another process took the port between probing and binding: try another.
                instance.Unregister();
            }
            catch
            {
                instance.Unregister();
                CleanUp(ownsDataDirectory ? root : null, ownsSocketDirectory ? socketDirectory : null);
                throw;
            }
        }
    }

    /// <summary>Local (unix socket) logins are trusted: the socket's directory is private. TCP logins need the password.</summary>
    private const string HbaRules = """
        local all all trust
        host all all 127.0.0.1/32 scram-sha-256
        host all all ::1/128 scram-sha-256

        """;

    /// <summary>Whether the postmaster is running (a killed server is restarted with <see cref="RestartAsync"/>).</summary>
    internal bool IsRunning => PostmasterProcessId is not null;

    /// <summary>Starts the server again after it died, with the same socket, port and settings.</summary>
    internal async Task RestartAsync(CancellationToken cancellationToken)
    {
        await StopStaleServerAsync(_binaries, DataDirectory, cancellationToken).ConfigureAwait(false);
        await StartServerAsync(cancellationToken).ConfigureAwait(false);
        await SetPasswordAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task StartServerAsync(CancellationToken cancellationToken)
    {
        var durability = _settings.Durable ? "on" : "off";
        var options = string.Join(' ',
            "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-c", _settings.ListenOnTcp ? "listen_addresses=127.0.0.1" : "listen_addresses=''",
            "-c", $"unix_socket_directories='{SocketDirectory}'",
            "-c", "unix_socket_permissions=0700",
            "-c", $"fsync={durability}",
            "-c", $"synchronous_commit={durability}",
            "-c", $"full_page_writes={durability}",
            "-c", $"max_connections={_settings.MaxConnections.ToString(CultureInfo.InvariantCulture)}",
            "-c", "shared_buffers=64MB",
            "-c", "max_prepared_transactions=0",
            "-c", "TimeZone=UTC");
        var logFile = Path.Combine(_rootDirectory, "postgres.log");
        try
        {
            await RunAsync(_binaries, _binaries.PgCtl,
                ["-D", DataDirectory, "-l", logFile, "-w", "-t", "60", "-o", options, "start"],
                cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            var log = File.Exists(logFile) ? await File.ReadAllTextAsync(logFile, cancellationToken).ConfigureAwait(false) : "(no log)";
            throw new InvalidOperationException($"{e.Message}{Environment.NewLine}PostgreSQL log ({logFile}):{Environment.NewLine}{Tail(log, 4000)}", e);
        }
    }

    /// <summary>Gives the superuser this start's generated password, over the private socket (TCP logins need it).</summary>
    private async Task SetPasswordAsync(CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // Without a TCP listener the superuser has no password at all, so SCRAM can never succeed for it.
        command.CommandText = _password is null
            ? "ALTER ROLE postgres PASSWORD NULL"
            : $"SET password_encryption = 'scram-sha-256'; ALTER ROLE postgres PASSWORD '{_password}'";
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A postmaster left running on this data directory by an emulator that was killed: stop it, unless the emulator that
    /// started it is still alive (then the data directory is in use, and starting would fail anyway).
    /// </summary>
    private static async Task StopStaleServerAsync(PostgresBinaries binaries, string pgData, CancellationToken cancellationToken)
    {
        if (ReadPostmasterPid(pgData) is not { } pid || !IsAlive(pid))
        {
            return;
        }

        var ownerFile = Path.Combine(Path.GetDirectoryName(pgData)!, OwnerFileName);
        if (File.Exists(ownerFile)
            && int.TryParse(File.ReadAllText(ownerFile).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var owner)
            && owner != Environment.ProcessId && IsAlive(owner))
        {
            throw new InvalidOperationException(
                $"The data directory '{Path.GetDirectoryName(pgData)}' is in use by a running emulator (process {owner.ToString(CultureInfo.InvariantCulture)}); stop it or use another --data-dir.");
        }

        await RunAsync(binaries, binaries.PgCtl, ["-D", pgData, "-m", "fast", "-w", "-t", "30", "stop"], cancellationToken).ConfigureAwait(false);
    }

    private const string OwnerFileName = "dsql-local.pid";

    private static int? ReadPostmasterPid(string pgData)
    {
        try
        {
            var first = File.ReadLines(Path.Combine(pgData, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(first?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsAlive(int pid)
    {
        if (!OperatingSystem.IsWindows())
        {
            // Signal 0 checks existence (root may signal anyone; EPERM also means it exists).
            return kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() == 1;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Stops the server (fast shutdown) and deletes the data directory when it was temporary.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        Unregister();
        try
        {
            await RunAsync(_binaries, _binaries.PgCtl, ["-D", DataDirectory, "-m", "fast", "-w", "-t", "30", "stop"], CancellationToken.None)
                .ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Already stopped (or never started); nothing more to do.
        }

        CleanUpAfterStop();
    }

    /// <summary>Stops the server synchronously.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private void OnProcessExit(object? sender, EventArgs e)
    {
        // Never leave a PostgreSQL behind when the host exits without disposing us.
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        try
        {
            RunAsync(_binaries, _binaries.PgCtl, ["-D", DataDirectory, "-m", "immediate", "-w", "-t", "10", "stop"], CancellationToken.None)
                .GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
        }

        CleanUpAfterStop();
    }

    private void CleanUpAfterStop()
    {
        TryDeleteFile(Path.Combine(_rootDirectory, OwnerFileName));
        CleanUp(_ownsDataDirectory ? _rootDirectory : null, _ownedSocketDirectory);
    }

    private static void CleanUp(string? rootDirectory, string? socketDirectory)
    {
        if (rootDirectory is not null)
        {
            TryDeleteDirectory(rootDirectory);
        }

        if (socketDirectory is not null)
        {
            TryDeleteDirectory(socketDirectory);
        }
    }

    private static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private void Unregister() => AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;

    private static async Task RunAsync(PostgresBinaries binaries, string executable, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        if (IsRoot)
        {
            startInfo.FileName = "runuser";
            foreach (var a in (string[])["-u", ServiceUser, "--", executable])
            {
                startInfo.ArgumentList.Add(a);
            }
        }
        else
        {
            startInfo.FileName = executable;
        }

        foreach (var a in arguments)
        {
            startInfo.ArgumentList.Add(a);
        }

        startInfo.Environment["LC_ALL"] = "C";
        startInfo.Environment["LANG"] = "C";
        // pg_ctl's child must not keep our redirected pipes open, or reading them would never end.
        var output = new StringBuilder();
        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"Could not run '{startInfo.FileName}': {e.Message}. {PostgresBinaries.InstallAdvice}", e);
        }

        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        output.Append(await stdout.ConfigureAwait(false)).Append(await stderr.ConfigureAwait(false));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"'{Path.GetFileName(executable)} {string.Join(' ', arguments)}' exited with code {process.ExitCode}: {Tail(output.ToString(), 4000)}");
        }
    }

    private static void HandToServiceUser(string directory)
    {
        if (!IsRoot)
        {
            return;
        }

        var startInfo = new ProcessStartInfo("chown") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in (string[])["-R", $"{ServiceUser}:", directory])
        {
            startInfo.ArgumentList.Add(a);
        }

        using var process = Process.Start(startInfo)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"PostgreSQL cannot run as root, and handing '{directory}' to the '{ServiceUser}' user failed: {error.Trim()}. " +
                $"Create the user (Debian's postgresql package does) or run as a non-root user.");
        }
    }

    private static bool IsRoot => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? geteuid() == 0 : false;

    [DllImport("libc", SetLastError = false)]
    private static extern uint geteuid();

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string Tail(string text, int length) => text.Length <= length ? text : text[^length..];
}
