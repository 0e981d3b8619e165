using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using EFCore.Dsql.FunctionalTests.Design;

namespace EFCore.Dsql.FunctionalTests.Local;

/// <summary>
/// The <c>dsql-local</c> command as users get it: packed as a .NET tool into a local feed, installed with
/// <c>dotnet tool install</c>, started, connected to with what it prints (VerifyFull against its root certificate, tokens
/// signed with the printed key pair), and stopped.
/// </summary>
public sealed class DsqlLocalToolTests
{
    private static readonly string Configuration =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    [Fact]
    public async Task Tool_installed_from_a_locally_packed_feed_starts_serves_with_what_it_prints_and_stops()
    {
        var work = Directory.CreateTempSubdirectory("dsql-local-tool-").FullName;
        // Its own temporary directory: when the tests run as root, PostgreSQL runs as 'postgres' and needs to reach it.
        var dataDirectory = Directory.CreateTempSubdirectory("dsql-local-tool-data-").FullName;
        try
        {
            // A version of its own, so the install cannot pick an older package of the same version from a cache.
            var version = "0.0.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
            var feed = Path.Combine(work, "feed");
            var tools = Path.Combine(work, "tools");
            var environment = new Dictionary<string, string?> { ["NUGET_PACKAGES"] = Path.Combine(work, "packages") };
            var pack = await DotnetEfTool.RunAsync(
                "dotnet",
                ["pack", Path.Combine(RepositoryFiles.RepositoryRoot, "src", "Dsql.Local.Tool", "Dsql.Local.Tool.csproj"), "-c", Configuration, "--no-build", "-o", feed, $"-p:PackageVersion={version}"],
                work, environment);
            Assert.True(pack.ExitCode == 0, $"dotnet pack failed:\n{pack.Output}");
            Assert.True(File.Exists(Path.Combine(feed, $"Dsql.Local.Tool.{version}.nupkg")), pack.Output);

            var install = await DotnetEfTool.RunAsync(
                "dotnet", ["tool", "install", "Dsql.Local.Tool", "--version", version, "--tool-path", tools, "--add-source", feed], work, environment);
            Assert.True(install.ExitCode == 0, $"dotnet tool install failed:\n{install.Output}");
            var command = Path.Combine(tools, OperatingSystem.IsWindows() ? "dsql-local.exe" : "dsql-local");

            var help = await DotnetEfTool.RunAsync(command, ["--help"], work, environment);
            Assert.Equal(0, help.ExitCode);
            Assert.Contains("dsql-local [command] [options]", help.Output, StringComparison.Ordinal);
            Assert.Contains("record", help.Output, StringComparison.Ordinal);
            Assert.Contains("--listen", help.Output, StringComparison.Ordinal);
            Assert.Contains("DSQL_LOCAL_CREDENTIALS_FILE", help.Output, StringComparison.Ordinal);
            var versionOutput = await DotnetEfTool.RunAsync(command, ["--version"], work, environment);
            Assert.Equal(0, versionOutput.ExitCode);
            Assert.StartsWith("0.1.0", versionOutput.Output.Trim(), StringComparison.Ordinal);

            await using var emulator = await EmulatorProcess.StartAsync(command, ["--port", "0", "--data-dir", dataDirectory], new Dictionary<string, string?>());
            var root = emulator.Value("Root certificate (trust it with SSL Mode=VerifyFull): ");
            Assert.Equal(Path.Combine(dataDirectory, "tls", "dsql-local-root.crt"), root);
            var exports = Exports(emulator.Line("  export AWS_ACCESS_KEY_ID="));
            // A pair generated for this start, not the documented well-known one.
            Assert.Matches("^AKIDSQLLOCAL[A-Z2-7]{8}$", exports["AWS_ACCESS_KEY_ID"]);
            Assert.NotEqual(DsqlLocalCredential.DefaultAccessKeyId, exports["AWS_ACCESS_KEY_ID"]);
            Assert.Contains("Sign tokens with this start's throw-away key pair", emulator.Output, StringComparison.Ordinal);

            // The printed connection string, with a token signed from the printed AWS environment.
            var builder = new NpgsqlConnectionStringBuilder(emulator.Value("Connection string (the password is an IAM token for host localhost): "))
            {
                Pooling = false,
                Password = global::Dsql.Npgsql.DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(
                    new Amazon.Runtime.BasicAWSCredentials(exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"]),
                    Amazon.RegionEndpoint.GetBySystemName(exports["AWS_REGION"]), "localhost"),
            };
            Assert.Equal(SslMode.VerifyFull, builder.SslMode);
            Assert.Equal(root, builder.RootCertificate);
            await using (var connection = new NpgsqlConnection(builder.ConnectionString))
            {
                await connection.OpenAsync();
                await using var select = new NpgsqlCommand("SELECT 1", connection);
                Assert.Equal(1, await select.ExecuteScalarAsync());
            }

            Assert.Equal(0, await emulator.StopAsync());
        }
        finally
        {
            Directory.Delete(work, recursive: true);
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Secret_keys_from_the_environment_are_accepted_and_never_printed_or_logged()
    {
        const string secret = "team+secret/from-the-environment-0123456789";
        var environment = new Dictionary<string, string?> { ["DSQL_LOCAL_CREDENTIALS"] = "AKIDTEAMEXAMPLE2:" + secret, ["DSQL_LOCAL_PORT"] = "0" };
        await using var emulator = await EmulatorProcess.StartAsync("dotnet", [ToolDll()], environment);
        Assert.Contains("Tokens must be signed for region us-east-1 with access key ID AKIDTEAMEXAMPLE2.", emulator.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("AWS_SECRET_ACCESS_KEY", emulator.Output, StringComparison.Ordinal);

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = emulator.Port, Username = "admin", Database = "postgres", Pooling = false,
            SslMode = SslMode.VerifyFull, RootCertificate = emulator.Value("Root certificate (trust it with SSL Mode=VerifyFull): "),
            Password = global::Dsql.Npgsql.DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(
                new Amazon.Runtime.BasicAWSCredentials("AKIDTEAMEXAMPLE2", secret), Amazon.RegionEndpoint.USEast1, "localhost"),
        };
        await using (var connection = new NpgsqlConnection(builder.ConnectionString))
        {
            await connection.OpenAsync();
        }

        // A refused login is logged; neither the configured secret nor the offered password may appear.
        builder.Password = "not-a-valid-token";
        await using (var refused = new NpgsqlConnection(builder.ConnectionString))
        {
            await Assert.ThrowsAsync<PostgresException>(() => refused.OpenAsync());
        }

        Assert.Equal(0, await emulator.StopAsync());
        Assert.Contains("refused login for role 'admin'", emulator.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, emulator.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("not-a-valid-token", emulator.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Docker_backend_is_refused_with_a_clear_message_instead_of_a_crash()
    {
        var result = await DotnetEfTool.RunAsync("dotnet", [ToolDll(), "--port", "0", "--backend", "docker"], RepositoryFiles.RepositoryRoot, new Dictionary<string, string?>());
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Dsql.Local could not start: The backend 'docker' is not supported", result.Output, StringComparison.Ordinal);
        Assert.Contains("--backend \"Host=127.0.0.1;Port=5433;Username=postgres;Password=pw\"", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Output, StringComparison.Ordinal);
    }

    internal static string ToolDll()
    {
        // The test runs from tests/FunctionalTests/bin/<Configuration>/<tfm>/; the dsql-local command builds beside it.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Path.Combine(RepositoryFiles.RepositoryRoot, "src", "Dsql.Local.Tool", "bin", output.Parent!.Name, output.Name, "dsql-local.dll");
        Assert.True(File.Exists(path), $"The dsql-local command was not built at {path}.");
        return path;
    }

    // 'export A=1 B=2' into its variables.
    private static Dictionary<string, string> Exports(string line)
        => line.Trim()["export ".Length..].Split(' ').Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    /// <summary>A running <c>dsql-local</c>: its start-up output, up to the connection string line, and SIGTERM to stop it.</summary>
    private sealed class EmulatorProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly List<string> _startup = [];
        private Task _pumps = Task.CompletedTask;

        private EmulatorProcess(Process process) => _process = process;

        public int Port { get; private set; }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static async Task<EmulatorProcess> StartAsync(string fileName, IEnumerable<string> arguments, IDictionary<string, string?> environment)
        {
            var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            start.WithEnvironment(environment);

            var emulator = new EmulatorProcess(Process.Start(start)!);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            while (true)
            {
                var line = await emulator._process.StandardOutput.ReadLineAsync(timeout.Token)
                           ?? throw new InvalidOperationException("dsql-local exited: " + await emulator._process.StandardError.ReadToEndAsync());
                emulator.Append(line);
                emulator._startup.Add(line);
                const string listening = "Dsql.Local listening on 127.0.0.1:";
                if (line.StartsWith(listening, StringComparison.Ordinal))
                {
                    emulator.Port = int.Parse(line[listening.Length..], CultureInfo.InvariantCulture);
                }

                if (line.StartsWith("Connection string", StringComparison.Ordinal))
                {
                    break;
                }
            }

            emulator._pumps = Task.WhenAll(emulator.PumpAsync(emulator._process.StandardOutput), emulator.PumpAsync(emulator._process.StandardError));
            return emulator;
        }

        public string Line(string prefix) => _startup.Single(l => l.StartsWith(prefix, StringComparison.Ordinal));

        public string Value(string prefix) => Line(prefix)[prefix.Length..];

        public async Task<int> StopAsync()
        {
            Assert.Equal(0, kill(_process.Id, 15));
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await _process.WaitForExitAsync(timeout.Token);
            await _pumps;
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                await StopAsync();
            }

            _process.Dispose();
        }

        private void Append(string line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }

        private async Task PumpAsync(StreamReader reader)
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                Append(line);
            }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int kill(int pid, int signal);
    }
}
