using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Dsql.Local.Backend;

/// <summary>
/// A throw-away PostgreSQL server started from the machine's own binaries (<c>initdb</c> + <c>pg_ctl</c>), listening on
/// loopback only with trust authentication. Used as the emulator's backend and as the plain-PostgreSQL baseline in tests.
/// </summary>
/// <remarks>
/// PostgreSQL refuses to run as root; when the current process is root the server runs as the <c>postgres</c> user
/// (created by Debian's <c>postgresql</c> package) and its data directory is handed to that user.
/// </remarks>
public sealed class PostgresInstance : IAsyncDisposable, IDisposable
{
    private const string ServiceUser = "postgres";

    private readonly PostgresBinaries _binaries;
    private readonly bool _ownsDataDirectory;
    private readonly string _rootDirectory;
    private int _stopped;

    private PostgresInstance(PostgresBinaries binaries, string rootDirectory, string dataDirectory, bool ownsDataDirectory, int port)
    {
        _binaries = binaries;
        _rootDirectory = rootDirectory;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        Port = port;
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    /// <summary>The loopback address the server listens on.</summary>
    public string Host => "127.0.0.1";

    /// <summary>The TCP port the server listens on.</summary>
    public int Port { get; }

    /// <summary>The PostgreSQL data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>The server's major version, for example 15.</summary>
    public int MajorVersion => _binaries.MajorVersion;

    /// <summary>An Npgsql connection string for the superuser <c>postgres</c> on database <c>postgres</c>.</summary>
    public string ConnectionString
        => $"Host={Host};Port={Port.ToString(CultureInfo.InvariantCulture)};Username={ServiceUser};Database=postgres;Pooling=true;Include Error Detail=true";

    /// <summary>
    /// Creates a data directory (unless <paramref name="dataDirectory"/> already holds one) and starts PostgreSQL on a free
    /// loopback port.
    /// </summary>
    /// <param name="dataDirectory">Where to keep the data; a temporary directory, deleted on dispose, when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="InvalidOperationException">PostgreSQL is not installed, or failed to start (the message carries its log).</exception>
    public static async Task<PostgresInstance> StartAsync(string? dataDirectory = null, CancellationToken cancellationToken = default)
    {
        var binaries = PostgresBinaries.Find();
        var ownsDataDirectory = dataDirectory is null;
        var root = dataDirectory is null
            ? Directory.CreateTempSubdirectory("dsql-local-pg-").FullName
            : Path.GetFullPath(dataDirectory);
        Directory.CreateDirectory(root);
        var pgData = Path.Combine(root, "pgdata");

        HandToServiceUser(root);

        if (!File.Exists(Path.Combine(pgData, "PG_VERSION")))
        {
            await RunAsync(binaries, binaries.InitDb,
                ["-D", pgData, "-U", ServiceUser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
                cancellationToken).ConfigureAwait(false);
        }

        const int attempts = 5;
        for (var attempt = 1; ; attempt++)
        {
            var port = FreeLoopbackPort();
            var instance = new PostgresInstance(binaries, root, pgData, ownsDataDirectory, port);
            try
            {
                await instance.StartServerAsync(cancellationToken).ConfigureAwait(false);
                return instance;
            }
            catch (InvalidOperationException) when (attempt < attempts)
            {
                // Most likely another process took the port between probing and binding: try another.
                instance.Unregister();
            }
            catch
            {
                instance.Unregister();
                if (ownsDataDirectory)
                {
                    TryDeleteDirectory(root);
                }

                throw;
            }
        }
    }

    private async Task StartServerAsync(CancellationToken cancellationToken)
    {
        var options = string.Join(' ',
            "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-c", "listen_addresses=127.0.0.1",
            "-c", $"unix_socket_directories='{_rootDirectory}'",
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
            "-c", "max_connections=400",
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

        if (_ownsDataDirectory)
        {
            TryDeleteDirectory(_rootDirectory);
        }
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

        if (_ownsDataDirectory)
        {
            TryDeleteDirectory(_rootDirectory);
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
