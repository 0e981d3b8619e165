using System.Diagnostics;
using System.Globalization;

namespace EFCore.Dsql.FunctionalTests.Local;

/// <summary>What happens when the emulator's PostgreSQL, or the emulator itself, is killed.</summary>
public sealed class DsqlLocalSupervisionTests
{
    [Fact]
    public async Task Session_whose_backend_process_is_killed_gets_a_fatal_error_not_a_closed_socket()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        await using var open = await server.OpenUnpooledAsync();

        // The backend process behind this session dies without a word (SIGKILL sends nothing to its socket).
        Assert.Equal(0, DsqlLocalLifecycleTests.kill(open.ProcessID, 9));

        await using var command = new NpgsqlCommand("SELECT 1", open);
        var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
        Assert.Equal("FATAL", error.Severity);
        Assert.Equal("08006", error.SqlState);
        Assert.Contains("backend ended this session unexpectedly", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Killed_backend_postgres_is_restarted_and_its_open_session_gets_a_fatal_error()
    {
        var log = new CapturedLog();
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { LoggerFactory = log.Factory });
        await using var open = await server.OpenUnpooledAsync();
        var postmaster = await PostmasterPidAsync(server);

        Assert.Equal(0, DsqlLocalLifecycleTests.kill(postmaster, 9));

        // The session's backend exits once it notices its postmaster is gone; from then on the client hears why.
        var ended = await ConnectionProbe.FirstFailureAsync(open, TimeSpan.FromSeconds(60));

        // PostgreSQL's own farewell (57P01 "terminating connection due to unexpected postmaster exit") or, when the
        // backend died without one, the emulator's 08006: a FATAL error either way, never a bare closed socket.
        var error = Assert.IsType<PostgresException>(ended);
        Assert.Equal("FATAL", error.Severity);
        Assert.Contains(error.SqlState, (string[])["57P01", "08006"]);

        // A new connection works once the emulator has restarted its PostgreSQL, and the log says so.
        await using var fresh = new NpgsqlConnection(server.UnpooledConnectionString());
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await fresh.OpenAsync();
                break;
            }
            catch (PostgresException e) when (e.SqlState is "08006" or "57P03" && attempt < 600)
            {
                await Task.Delay(100);
            }
        }

        await using var check = new NpgsqlCommand("SELECT 1", fresh);
        Assert.Equal(1, await check.ExecuteScalarAsync());
        Assert.Contains(log.Lines, l => l.Contains("backend PostgreSQL has stopped unexpectedly", StringComparison.Ordinal));
        // Logged once the restart has finished, which may be just after the first client got in.
        for (var i = 0; i < 600 && !log.Lines.Any(l => l.Contains("backend PostgreSQL has been restarted", StringComparison.Ordinal)); i++)
        {
            await Task.Delay(100);
        }

        Assert.Contains(log.Lines, l => l.Contains("backend PostgreSQL has been restarted", StringComparison.Ordinal));
        Assert.NotEqual(postmaster, await PostmasterPidAsync(server));
    }

    [Fact]
    public async Task Start_on_the_data_dir_of_a_killed_emulator_stops_its_stale_postgres_and_comes_up()
    {
        using var dataDirectoryOwner = new TempDirectory("dsql-local-stale-");
        var dataDirectory = dataDirectoryOwner.Path;
        var startInfo = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])[DsqlLocalLifecycleTests.EmulatorDll(), "--port", "0", "--data-dir", dataDirectory, "--quiet"])
        {
            startInfo.ArgumentList.Add(argument);
        }

        using (var emulator = Process.Start(startInfo)!)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            while (await emulator.StandardOutput.ReadLineAsync(timeout.Token) is { } line && !line.Contains("listening on", StringComparison.Ordinal))
            {
            }

            emulator.Kill();
            await emulator.WaitForExitAsync(timeout.Token);
        }

        var stale = int.Parse(File.ReadLines(Path.Combine(dataDirectory, "pgdata", "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        Assert.True(DsqlLocalLifecycleTests.IsRunning(stale), "The killed emulator's PostgreSQL should still be running.");

        await using (var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { DataDirectory = dataDirectory }))
        {
            await using var connection = await server.OpenUnpooledAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            Assert.Equal(1, await command.ExecuteScalarAsync());
            Assert.NotEqual(stale, await PostmasterPidAsync(server));
        }

        // The postmaster removes its pid file (which pg_ctl waits for) just before it exits.
        for (var i = 0; i < 100 && DsqlLocalLifecycleTests.IsRunning(stale); i++)
        {
            await Task.Delay(100);
        }

        Assert.False(DsqlLocalLifecycleTests.IsRunning(stale), $"The stale PostgreSQL (pid {stale}) is still running.");
    }

    private static async Task<int> PostmasterPidAsync(DsqlLocalServer server)
    {
        var dataDirectory = await BackendSql.ScalarAsync<string>(server.BackendConnectionString + ";Pooling=false", "SHOW data_directory");
        return int.Parse(File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
    }
}
