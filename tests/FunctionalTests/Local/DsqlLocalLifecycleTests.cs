using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EFCore.Dsql.FunctionalTests.Local;

public sealed class DsqlLocalLifecycleTests
{
    [Fact]
    public async Task Connection_is_closed_with_a_clear_fatal_error_at_its_maximum_age()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { MaxConnectionAge = TimeSpan.FromSeconds(1) });
        await using var connection = await server.OpenUnpooledAsync();

        var closed = await ConnectionProbe.FirstFailureAsync(connection, TimeSpan.FromSeconds(30));

        var error = Assert.IsType<PostgresException>(closed);
        Assert.Equal("08006", error.SqlState);
        Assert.Equal("FATAL", error.Severity);
        Assert.Contains("maximum connection age of 1 seconds", error.MessageText, StringComparison.Ordinal);
        Assert.Equal(System.Data.ConnectionState.Closed, connection.State);
    }

    [Fact]
    public async Task Unreachable_backend_is_reported_to_the_client_as_a_fatal_error()
    {
        var backend = await global::Dsql.Local.Backend.PostgresInstance.StartAsync();
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { Backend = backend.ConnectionString, NoTls = true });
        await backend.DisposeAsync();
        NpgsqlConnection.ClearAllPools();

        await using var connection = new NpgsqlConnection(server.UnpooledConnectionString());
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());
        Assert.Equal("08006", error.SqlState);
        Assert.Contains("could not reach its PostgreSQL backend", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CloseAllConnections_terminates_open_sessions_with_the_given_reason()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        await using var connection = await server.OpenUnpooledAsync();
        server.CloseAllConnections("maintenance window");

        await using var command = new NpgsqlCommand("SELECT 1", connection);
        var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
        Assert.Equal("maintenance window", error.MessageText);
    }

    [Fact]
    public async Task Disposing_the_server_stops_its_postgres()
    {
        using var dataDirectoryOwner = new TempDirectory("dsql-local-lifecycle-");
        var dataDirectory = dataDirectoryOwner.Path;
        var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { DataDirectory = dataDirectory });
        var postmasterPid = Path.Combine(dataDirectory, "pgdata", "postmaster.pid");
        Assert.True(File.Exists(postmasterPid));
        await server.DisposeAsync();
        Assert.False(File.Exists(postmasterPid));
    }

    [Fact]
    public async Task Command_line_prints_its_port_and_stops_its_postgres_on_sigterm()
    {
        using var dataDirectoryOwner = new TempDirectory("dsql-local-cli-");
        var dataDirectory = dataDirectoryOwner.Path;
        var startInfo = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // The documented pair, accepted when configured explicitly (the command otherwise generates one per start).
        startInfo.Environment["DSQL_LOCAL_CREDENTIALS"] = $"{DsqlLocalCredential.DefaultAccessKeyId}:{DsqlLocalCredential.DefaultSecretAccessKey}";
        foreach (var argument in (string[])[EmulatorDll(), "--port", "0", "--data-dir", dataDirectory, "--quiet"])
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var port = 0;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            while (port == 0)
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                           ?? throw new InvalidOperationException("The emulator exited: " + await process.StandardError.ReadToEndAsync());
                const string marker = "listening on 127.0.0.1:";
                var at = line.IndexOf(marker, StringComparison.Ordinal);
                if (at >= 0)
                {
                    port = int.Parse(line[(at + marker.Length)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }

        var postmasterPid = Path.Combine(dataDirectory, "pgdata", "postmaster.pid");
        Assert.True(File.Exists(postmasterPid));
        var postgresPid = int.Parse(File.ReadLines(postmasterPid).First(), System.Globalization.CultureInfo.InvariantCulture);

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = port, Username = "admin", Database = "postgres", SslMode = SslMode.Require, Pooling = false,
            Password = global::Dsql.Npgsql.DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(
                new Amazon.Runtime.BasicAWSCredentials(DsqlLocalCredential.DefaultAccessKeyId, DsqlLocalCredential.DefaultSecretAccessKey),
                Amazon.RegionEndpoint.USEast1, "localhost"),
        };
        await using (var connection = new NpgsqlConnection(builder.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            Assert.Equal(1, await command.ExecuteScalarAsync());
        }

        Assert.Equal(0, kill(process.Id, 15));
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await process.WaitForExitAsync(timeout.Token);
        }

        Assert.Equal(0, process.ExitCode);
        Assert.False(File.Exists(postmasterPid));
        // The postmaster removes its pid file just before it exits.
        for (var i = 0; i < 100 && IsRunning(postgresPid); i++)
        {
            await Task.Delay(100);
        }

        Assert.False(IsRunning(postgresPid), $"PostgreSQL (pid {postgresPid}) is still running after the emulator stopped.");
    }

    [Fact]
    public async Task Library_host_killed_with_sigterm_leaves_no_postgres_and_no_temporary_directory_behind()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var host = Path.Combine(RepositoryFiles.RepositoryRoot, "tests", "LibraryHost", "bin", output.Parent!.Name, output.Name, "LibraryHost.dll");
        Assert.True(File.Exists(host), $"The library host was not built at {host}.");
        var startInfo = new ProcessStartInfo("dotnet", [host]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(startInfo)!;
        var printed = new Dictionary<string, string>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            while (!printed.ContainsKey("root"))
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                           ?? throw new InvalidOperationException("The library host exited: " + await process.StandardError.ReadToEndAsync());
                var parts = line.Split('=', 2);
                printed[parts[0]] = parts[1];
            }
        }

        // The PostgreSQL it started, found by its socket directory (on its command line), and that command line's data directory.
        var socketDirectory = new NpgsqlConnectionStringBuilder(printed["backend"]).Host!;
        var postmaster = Directory.GetDirectories("/proc").Select(d => Path.GetFileName(d)).Where(d => d.All(char.IsAsciiDigit))
            .Select(pid => (Pid: int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture), CommandLine: ReadCommandLine(pid)))
            .Single(p => p.CommandLine.Contains(socketDirectory, StringComparison.Ordinal) && p.CommandLine.Contains(" -D ", StringComparison.Ordinal));
        var dataDirectory = postmaster.CommandLine.Split(' ').SkipWhile(a => a != "-D").Skip(1).First();
        var tlsDirectory = Path.GetDirectoryName(printed["root"])!;
        Assert.True(Directory.Exists(dataDirectory) && Directory.Exists(tlsDirectory) && Directory.Exists(socketDirectory));

        Assert.Equal(0, kill(process.Id, 15));
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await process.WaitForExitAsync(timeout.Token);
        }

        for (var i = 0; i < 100 && IsRunning(postmaster.Pid); i++)
        {
            await Task.Delay(100);
        }

        Assert.False(IsRunning(postmaster.Pid), $"PostgreSQL (pid {postmaster.Pid}) is still running after its host got SIGTERM.");
        Assert.False(Directory.Exists(dataDirectory), $"The temporary data directory {dataDirectory} is left behind.");
        Assert.False(Directory.Exists(tlsDirectory), $"The temporary TLS directory {tlsDirectory} is left behind.");
        Assert.False(Directory.Exists(socketDirectory), $"The temporary socket directory {socketDirectory} is left behind.");

        static string ReadCommandLine(string pid)
        {
            try
            {
                return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
            }
            catch (IOException)
            {
                return "";
            }
            catch (UnauthorizedAccessException)
            {
                return "";
            }
        }
    }

    internal static bool IsRunning(int pid)
    {
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

    internal static string EmulatorDll()
    {
        // The test runs from tests/FunctionalTests/bin/<Configuration>/<tfm>/; the dsql-local command builds beside it.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = output.Parent!.Name;
        var path = Path.Combine(RepositoryFiles.RepositoryRoot, "src", "Dsql.Local.Tool", "bin", configuration, output.Name, "dsql-local.dll");
        Assert.True(File.Exists(path), $"The emulator was not built at {path}.");
        return path;
    }

    [DllImport("libc", SetLastError = true)]
    internal static extern int kill(int pid, int signal);
}
