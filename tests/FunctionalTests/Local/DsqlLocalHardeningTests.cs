using System.Net.Sockets;
using Dsql.Local.Backend;
using Dsql.Local.Protocol;

namespace EFCore.Dsql.FunctionalTests.Local;

/// <summary>The emulator as an attacker or an unlucky operator meets it: isolation, resource limits and protocol errors.</summary>
public sealed class DsqlLocalHardeningTests
{
    [Fact]
    public async Task Backend_listens_only_on_a_private_unix_socket()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        var backend = new NpgsqlConnectionStringBuilder(server.BackendConnectionString);
        Assert.StartsWith("/", backend.Host, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(backend.Host!));
        }

        Assert.Equal("", await BackendSql.ScalarAsync<string>(server.BackendConnectionString, "SHOW listen_addresses"));
    }

    [Fact]
    public async Task Backend_tcp_listener_when_asked_for_refuses_logins_without_the_generated_password()
    {
        await using var postgres = await PostgresInstance.StartAsync(new PostgresSettings { ListenOnTcp = true });
        var withoutPassword = new NpgsqlConnectionStringBuilder(postgres.TcpConnectionString) { Password = "guess", Pooling = false };
        await using (var intruder = new NpgsqlConnection(withoutPassword.ConnectionString))
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => intruder.OpenAsync());
            Assert.Equal("28P01", error.SqlState);
        }

        await using var owner = new NpgsqlConnection(postgres.TcpConnectionString + ";Pooling=false");
        await owner.OpenAsync();
        Assert.Equal(System.Data.ConnectionState.Open, owner.State);
    }

    [Theory]
    [InlineData("-c session_replication_role=replica", "session_replication_role")]
    [InlineData("-c statement_timeout=0", "statement_timeout")]
    [InlineData("--role=postgres", "role")]
    [InlineData("-c log_statement=none", "log_statement")]
    public async Task Startup_option_outside_dsqls_session_parameters_is_refused(string options, string parameter)
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        var builder = new NpgsqlConnectionStringBuilder(server.GetConnectionString()) { Pooling = false, Options = options };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());
        Assert.Equal("0A000", error.SqlState);
        Assert.Equal($"setting configuration parameter \"{parameter}\" not supported", error.MessageText);
    }

    [Fact]
    public async Task Startup_option_among_dsqls_session_parameters_is_applied()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        var builder = new NpgsqlConnectionStringBuilder(server.GetConnectionString()) { Pooling = false, Options = "-c extra_float_digits=1 --enable-seqscan=off" };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_setting('extra_float_digits') || ' ' || current_setting('enable_seqscan')", connection);
        Assert.Equal("1 off", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task User_name_with_a_newline_cannot_forge_a_log_line()
    {
        var log = new CapturedLog();
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { LoggerFactory = log.Factory });
        const string forged = "evil\nDsql.Local listening on 127.0.0.1:1 (forged)";
        var builder = new NpgsqlConnectionStringBuilder(server.GetConnectionString()) { Pooling = false, Username = forged, Password = "not-a-token" };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());

        Assert.Contains(log.Lines, l => l.Contains("evil\\nDsql.Local listening", StringComparison.Ordinal));
        Assert.All(log.Lines, l => Assert.DoesNotContain('\n', l));
        Assert.Single(log.Lines, l => l.Contains("listening on", StringComparison.Ordinal) && !l.Contains("evil", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Password_message_claiming_a_gigabyte_is_refused_before_login_without_allocating_it()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { NoTls = true });
        await using var client = await RawClient.ConnectAsync(server.Port);
        await client.SendStartupAsync("admin");
        Assert.Equal((byte)'R', (await client.ReadAsync()).Type);

        // A password message header claiming 1 GiB, and no body: PostgreSQL caps password packets at 65535 bytes.
        await client.SendHeaderAsync((byte)'p', 1 << 30);

        var error = await client.ReadErrorAsync();
        Assert.Equal("FATAL", error.Fields['S']);
        Assert.Equal("08P01", error.SqlState);
        Assert.Contains("invalid message length", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connection_that_never_logs_in_is_closed_after_the_login_timeout()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { LoginTimeout = TimeSpan.FromMilliseconds(300) });
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", server.Port);

        // Sends nothing: the emulator closes the socket (the read returns 0) instead of holding it forever.
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Assert.Equal(0, await socket.ReceiveAsync(new byte[16], SocketFlags.None, guard.Token));
    }

    [Fact]
    public async Task Two_hundred_clients_logging_in_at_once_are_all_served_with_default_options()
    {
        // The pending-connection limit is there for sockets that never log in; a burst of real logins stays under it.
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ =>
        {
            await using var connection = await server.OpenUnpooledAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            return await command.ExecuteScalarAsync();
        }));
        Assert.All(answers, answer => Assert.Equal(1, answer));
    }

    [Fact]
    public async Task Idle_sockets_over_the_pending_limit_do_not_keep_a_good_client_out()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { MaxPendingConnections = 4 });
        var idle = new List<Socket>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync("127.0.0.1", server.Port);
                idle.Add(socket);
            }

            await using var connection = await server.OpenUnpooledAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            Assert.Equal(1, await command.ExecuteScalarAsync());
            Assert.InRange(server.PendingConnectionCount, 0, 4);
        }
        finally
        {
            idle.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task Login_over_the_connection_limit_gets_dsqls_too_many_connections_error()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { MaxConnections = 2 });
        var unpooled = server.UnpooledConnectionString();
        await using var first = new NpgsqlConnection(unpooled);
        await using var second = new NpgsqlConnection(unpooled);
        await first.OpenAsync();
        await second.OpenAsync();

        await using var third = new NpgsqlConnection(unpooled);
        var error = await Assert.ThrowsAsync<PostgresException>(() => third.OpenAsync());
        Assert.Equal("53300", error.SqlState);
        Assert.Equal("Unable to accept connection, too many open connections.", error.MessageText);

        await first.CloseAsync();
        await using var fourth = new NpgsqlConnection(unpooled);
        await OpenWhenFreedAsync(fourth);
        Assert.Equal(System.Data.ConnectionState.Open, fourth.State);
    }

    [Fact]
    public async Task Tls_request_inside_tls_is_answered_as_an_unsupported_protocol()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        await using var inner = await RawClient.ConnectTlsAsync(server.Port);
        await inner.SendSslRequestAsync();

        var error = await inner.ReadErrorAsync();
        Assert.Equal("FATAL", error.Fields['S']);
        Assert.Equal("08P01", error.SqlState);
        Assert.StartsWith("unsupported frontend protocol 1234.5679", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_message_after_login_ends_the_session_with_a_protocol_violation_error()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { NoTls = true });
        await using var client = await RawClient.ConnectAsync(server.Port);
        await client.LoginAsync("admin", server.GenerateAuthToken());

        // A Query whose length field claims less than its own four bytes.
        await client.Stream.WriteAsync(new byte[] { (byte)'Q', 0, 0, 0, 2 });

        var error = await client.ReadErrorAsync();
        Assert.Equal("FATAL", error.Fields['S']);
        Assert.Equal("08P01", error.SqlState);
        Assert.Contains("invalid message length", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Message_over_DSQLs_10_MiB_limit_ends_the_session_with_08P01_invalid_message_length()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { NoTls = true });
        await using var client = await RawClient.ConnectAsync(server.Port);
        await client.LoginAsync("admin", server.GenerateAuthToken());

        // A Query claiming one byte more than 10 MiB: refused from its header, before anything is read or allocated for it.
        await client.SendHeaderAsync((byte)'Q', (10 * 1024 * 1024) + 1);

        var error = await client.ReadErrorAsync();
        Assert.Equal(("FATAL", "08P01"), (error.Fields['S'], error.SqlState));
        Assert.StartsWith("invalid message length", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SELECT 1 /* never closed", "/* never closed")]
    [InlineData("SELECT 1; SELECT 2 /* outer /* inner */ still open", "/* outer /* inner */ still open")]
    public async Task Unterminated_block_comment_is_refused_like_postgresql_and_nothing_runs(string sql, string near)
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { NoTls = true });
        await using var client = await RawClient.ConnectAsync(server.Port);
        await client.LoginAsync("admin", server.GenerateAuthToken());

        // Simple protocol: the one error, no result of any statement before it.
        client.Writer.Write((byte)'Q', b => b.CString(sql));
        await client.Writer.FlushAsync();
        var error = await client.ReadErrorAsync();
        Assert.Equal(("42601", $"unterminated /* comment at or near \"{near}\""), (error.SqlState, error.Message));
        Assert.Equal('Z', (char)(await client.ReadAsync()).Type);

        // Extended protocol (a driver's Parse): the same answer.
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server.GetConnectionString()) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql.Split(';')[^1].Trim(), connection);
        var parsed = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
        Assert.Equal(("42601", $"unterminated /* comment at or near \"{near}\""), (parsed.SqlState, parsed.MessageText));
    }

    [Fact]
    public async Task Accept_loop_keeps_accepting_after_any_exception_in_accept()
    {
        using var log = new CapturedLog();
        var failures = new Queue<Exception>([new SocketException(24), new IOException("injected I/O failure"), new InvalidOperationException("injected failure")]);
        var options = new DsqlLocalOptions
        {
            NoTls = true,
            LoggerFactory = log.Factory,
            AcceptOverride = async (listener, cancellationToken) =>
            {
                var client = await listener.AcceptTcpClientAsync(cancellationToken);
                Exception? failure;
                lock (failures)
                {
                    failures.TryDequeue(out failure);
                }

                if (failure is null)
                {
                    return client;
                }

                // The connection is lost with the failed accept, as when accept itself throws.
                client.Dispose();
                throw failure;
            },
        };
        await using var server = await DsqlLocalServer.StartAsync(options);

        // Three connections meet a failing accept; each is closed, and the listener goes on.
        for (var i = 0; i < 3; i++)
        {
            await using var lost = await RawClient.ConnectAsync(server.Port);
            Assert.Equal(0, await lost.Stream.ReadAsync(new byte[1]));
        }

        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server.GetConnectionString()) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        Assert.Equal(1, await command.ExecuteScalarAsync());
        Assert.Contains(log.Lines, l => l.Contains("accepting a connection failed: SocketException", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.Contains("accepting a connection failed: IOException: injected I/O failure", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.Contains("accepting a connection failed: InvalidOperationException: injected failure", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Durable_option_turns_fsync_and_synchronous_commit_on_and_the_default_leaves_them_off()
    {
        await using var fast = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        await using var durable = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { Durable = true });
        Assert.Equal("off off", await BackendScalarAsync(fast, "SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit')"));
        Assert.Equal("on on", await BackendScalarAsync(durable, "SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit')"));
        Assert.Equal("410", await BackendScalarAsync(fast, "SHOW max_connections"));
    }

    [Fact]
    public async Task Multi_gigabyte_result_to_a_client_that_does_not_read_keeps_the_relay_buffers_bounded()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { NoTls = true });
        await using var client = await RawClient.ConnectAsync(server.Port);
        await client.LoginAsync("admin", server.GenerateAuthToken());

        // About 3 GB of rows; the client never reads them.
        client.Writer.Write((byte)'Q', b => b.CString("SELECT repeat('x', 1000) FROM generate_series(1, 3000000)"));
        await client.Writer.FlushAsync();

        // Either the backend ends up waiting for the emulator to take its output (back-pressure reached PostgreSQL), or
        // the emulator has buffered far more than it should: whichever comes first, the buffers are then measured.
        const long bound = 4L * 1024 * 1024;
        await using var backend = new NpgsqlConnection(server.BackendConnectionString + ";Pooling=false");
        await backend.OpenAsync();
        await using var waiting = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%generate_series(1, 3000000)%' AND wait_event = 'ClientWrite' AND pid <> pg_backend_pid()", backend);
        for (var i = 0; i < 1200 && server.RelayBufferedBytes <= bound; i++)
        {
            if ((long)(await waiting.ExecuteScalarAsync())! > 0)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal(1L, (long)(await waiting.ExecuteScalarAsync())!);
        Assert.InRange(server.RelayBufferedBytes, 0, bound);
    }

    private static async Task<object?> BackendScalarAsync(DsqlLocalServer server, string sql)
    {
        await using var connection = new NpgsqlConnection(server.BackendConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static async Task OpenWhenFreedAsync(NpgsqlConnection connection)
    {
        // The first session's slot is released when the emulator has seen its Terminate: retry until then.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await connection.OpenAsync();
                return;
            }
            catch (PostgresException e) when (e.SqlState == "53300" && attempt < 200)
            {
                await Task.Delay(50);
            }
        }
    }
}
