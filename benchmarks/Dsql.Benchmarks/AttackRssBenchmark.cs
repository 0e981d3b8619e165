using System.Diagnostics;
using System.Globalization;
using Amazon;
using Amazon.Runtime;
using Dsql.Local;
using Dsql.Npgsql;
using EFCore.Dsql.TestUtilities;
using Npgsql;

namespace Dsql.Benchmarks;

/// <summary>
/// The emulator's memory under attack: each attack runs against a fresh Dsql.Local in a child process (default options:
/// TLS, 400 connections, 64 pending logins, 30 s login timeout), whose resident set is read from <c>/proc/&lt;pid&gt;/status</c>
/// while a good client checks it is still served. Run with <c>-- attacks</c>; BenchmarkDotNet measures time, not RSS.
/// </summary>
internal static class AttackRssBenchmark
{
    /// <summary>The argument that makes the process the child: an emulator that prints its port and serves until stdin closes.</summary>
    public const string ServerMode = "attacks-server";

    private const int AttackConcurrency = 16;
    private const int QueriesPerGoodClient = 50;

    // The full run's sizes; `attacks --quick` (a smoke run proving the mode works) divides them by ten.
    private static int IdleConnections = 1000;
    private static int GigabyteClaims = 500;
    private static int ResultRows = 3_000_000;
    private static int NonReaderHoldSeconds = 15;
    private static int GoodClients = 200;

    /// <summary>The child: a default-options emulator; prints <c>READY port</c>, stops when its stdin closes.</summary>
    public static async Task ServeAsync()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        Console.WriteLine($"READY {server.Port}");
        await Console.In.ReadToEndAsync();
    }

    public static async Task<int> RunAsync(bool quick)
    {
        if (quick)
        {
            (IdleConnections, GigabyteClaims, ResultRows, NonReaderHoldSeconds, GoodClients) = (100, 50, 300_000, 3, 20);
        }

        if (!OperatingSystem.IsLinux())
        {
            Console.Error.WriteLine("The attacks mode reads /proc/<pid>/status: Linux only.");
            return 1;
        }

        (string Name, string Settings, Func<int, Task<string>> Run)[] attacks =
        [
            ("(a) idle connections that never log in", $"{IdleConnections} connections, {AttackConcurrency} at a time, each completes TLS then sends nothing; held 5 s", IdleConnectionsAsync),
            ("(b) pre-auth password claiming 1 GiB", $"{GigabyteClaims} connections, {AttackConcurrency} at a time: TLS, start-up, then a 'p' header claiming 1 GiB", GigabyteClaimsAsync),
            ("(c) multi-GB result, client never reads", $"SELECT repeat('x', 1000) FROM generate_series(1, {ResultRows}) (≈ {ResultRows / 1e6:0.#} GB) over TLS; held {NonReaderHoldSeconds} s", NonReaderAsync),
            ("(d) concurrent good clients", $"{GoodClients} connections at once (TLS, no pooling), {QueriesPerGoodClient} × 100-row SELECT each", GoodClientsAsync),
        ];

        var rows = new List<string>();
        foreach (var (name, settings, run) in attacks)
        {
            Console.WriteLine($"# {name}: {settings}");
            await using var emulator = await EmulatorProcess.StartAsync();
            var (served, _) = await GoodClientAsync(emulator.Port);
            await Task.Delay(TimeSpan.FromSeconds(1));
            var baseline = emulator.Status("VmRSS");
            var resetPeak = emulator.TryResetPeak();
            using var sampling = new CancellationTokenSource();
            var sampler = emulator.SamplePeakAsync(sampling.Token);
            string outcome;
            try
            {
                outcome = await run(emulator.Port);
            }
            catch (Exception e)
            {
                outcome = "attack failed: " + e.GetType().Name + ": " + e.Message;
            }

            var (afterServed, afterMs) = await GoodClientAsync(emulator.Port);
            await sampling.CancelAsync();
            var sampledPeak = await sampler;
            var peak = resetPeak ? Math.Max(emulator.Status("VmHWM"), sampledPeak) : sampledPeak;
            var goodClient = served && afterServed ? $"yes ({afterMs:0} ms to connect and SELECT 1 after)" : "NO";
            rows.Add($"| {name} | {settings} | {Mb(peak)} | {Mb(baseline)} | {goodClient} | {outcome} |");
            Console.WriteLine(rows[^1]);
        }

        Console.WriteLine();
        Console.WriteLine($"Dsql.Local RSS under attack{(quick ? " (--quick: sizes divided by ten)" : "")} ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}):");
        Console.WriteLine();
        Console.WriteLine("| Attack | Settings | Peak RSS | Idle RSS before | Good client served | Outcome |");
        Console.WriteLine("|---|---|---:|---:|---|---|");
        rows.ForEach(Console.WriteLine);
        return 0;
    }

    private static string Mb(long kilobytes) => (kilobytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " MB";

    private static async Task<string> IdleConnectionsAsync(int port)
    {
        var open = new List<RawClient>();
        var failed = 0;
        await ForEachAsync(IdleConnections, async _ =>
        {
            try
            {
                var client = await RawClient.ConnectTlsAsync(port);
                lock (open)
                {
                    open.Add(client);
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException)
            {
                // Closed by the emulator: over the pending limit, the oldest idle connection is evicted.
                Interlocked.Increment(ref failed);
            }
        });

        await Task.Delay(TimeSpan.FromSeconds(5));
        var (served, ms) = await GoodClientAsync(port);
        var closed = 0;
        foreach (var client in open)
        {
            closed += await IsClosedAsync(client) ? 1 : 0;
            await client.DisposeAsync();
        }

        return $"{IdleConnections - failed} completed TLS, {closed + failed} closed by the emulator; good client during the attack: {(served ? $"{ms:0} ms" : "NOT served")}";
    }

    private static async Task<string> GigabyteClaimsAsync(int port)
    {
        var refused = 0;
        await ForEachAsync(GigabyteClaims, async _ =>
        {
            await using var client = await RawClient.ConnectTlsAsync(port);
            await client.SendStartupAsync("admin");
            await client.ExpectAsync((byte)'R');
            await client.SendHeaderAsync((byte)'p', 1 << 30);
            if ((await client.ReadErrorAsync()).SqlState == "08P01")
            {
                Interlocked.Increment(ref refused);
            }
        });

        return $"{refused} of {GigabyteClaims} refused with 08P01";
    }

    private static async Task<string> NonReaderAsync(int port)
    {
        await using var client = await RawClient.ConnectTlsAsync(port);
        await client.LoginAsync("admin", Token());
        client.Writer.Write((byte)'Q', b => b.CString($"SELECT repeat('x', 1000) FROM generate_series(1, {ResultRows})"));
        await client.Writer.FlushAsync();
        await Task.Delay(TimeSpan.FromSeconds(NonReaderHoldSeconds));
        var (served, ms) = await GoodClientAsync(port);
        return $"good client while the result was pending: {(served ? $"{ms:0} ms" : "NOT served")}";
    }

    private static async Task<string> GoodClientsAsync(int port)
    {
        var failures = 0;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, GoodClients).Select(async _ =>
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString(port));
                await connection.OpenAsync();
                for (var i = 0; i < QueriesPerGoodClient; i++)
                {
                    await using var command = new NpgsqlCommand("SELECT g, repeat('x', 100) FROM generate_series(1, 100) AS g", connection);
                    await using var reader = await command.ExecuteReaderAsync();
                    while (await reader.ReadAsync())
                    {
                    }
                }
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException)
            {
                Interlocked.Increment(ref failures);
            }
        }));

        return $"{GoodClients - failures} of {GoodClients} clients completed in {watch.Elapsed.TotalSeconds:0.0} s";
    }

    /// <summary>Runs <paramref name="count"/> attack connections, <see cref="AttackConcurrency"/> at a time.</summary>
    private static Task ForEachAsync(int count, Func<int, Task> attack)
        => Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = AttackConcurrency }, async (i, _) => await attack(i));

    /// <summary>Whether the emulator has closed <paramref name="client"/> (a read returns at once with the end of the stream or an error).</summary>
    private static async Task<bool> IsClosedAsync(RawClient client)
    {
        using var quick = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        try
        {
            return await client.Stream.ReadAsync(new byte[1], quick.Token) == 0;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            return true;
        }
    }

    /// <summary>A fresh connection (TLS, IAM token) running <c>SELECT 1</c>: whether it worked within 30 s, and how long it took.</summary>
    private static async Task<(bool Served, double Milliseconds)> GoodClientAsync(int port)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await using var connection = new NpgsqlConnection(ConnectionString(port));
            await connection.OpenAsync(timeout.Token);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            return (Equals(await command.ExecuteScalarAsync(timeout.Token), 1), watch.Elapsed.TotalMilliseconds);
        }
        catch (Exception e) when (e is NpgsqlException or IOException or OperationCanceledException or TimeoutException)
        {
            return (false, watch.Elapsed.TotalMilliseconds);
        }
    }

    private static string ConnectionString(int port) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = port,
        Database = "postgres",
        Username = "admin",
        Password = Token(),
        SslMode = SslMode.Require,
        Pooling = false,
        Timeout = 30,
    }.ConnectionString;

    private static string Token() => DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(
        new BasicAWSCredentials(DsqlLocalCredential.DefaultAccessKeyId, DsqlLocalCredential.DefaultSecretAccessKey), RegionEndpoint.USEast1, "localhost");

    /// <summary>This program started again as <see cref="ServerMode"/>: the emulator alone in a process of its own.</summary>
    private sealed class EmulatorProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private EmulatorProcess(Process process, int port)
        {
            _process = process;
            Port = port;
        }

        public int Port { get; }

        public static async Task<EmulatorProcess> StartAsync()
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            {
                // Started as `dotnet Dsql.Benchmarks.dll`: the child needs the assembly too.
                start.ArgumentList.Add(typeof(AttackRssBenchmark).Assembly.Location);
            }

            start.ArgumentList.Add(ServerMode);
            var process = Process.Start(start)!;
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("READY ", StringComparison.Ordinal))
                {
                    return new EmulatorProcess(process, int.Parse(line[6..], CultureInfo.InvariantCulture));
                }
            }

            throw new InvalidOperationException($"The emulator process ended before it was ready (exit code {process.ExitCode}).");
        }

        /// <summary>A <c>kB</c> field of the emulator's <c>/proc/&lt;pid&gt;/status</c> (VmRSS, VmHWM).</summary>
        public long Status(string field)
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }

            throw new InvalidOperationException($"/proc/{_process.Id}/status has no {field}.");
        }

        /// <summary>Resets VmHWM to the current RSS (<c>clear_refs</c> 5), so the peak is the attack's, not the start-up's.</summary>
        public bool TryResetPeak()
        {
            try
            {
                File.WriteAllText($"/proc/{_process.Id}/clear_refs", "5");
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        /// <summary>The largest VmRSS seen, sampled every 20 ms until cancelled.</summary>
        public async Task<long> SamplePeakAsync(CancellationToken cancellationToken)
        {
            long peak = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                peak = Math.Max(peak, Status("VmRSS"));
                try
                {
                    await Task.Delay(20, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            return peak;
        }

        public async ValueTask DisposeAsync()
        {
            _process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }
    }
}
