using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Dsql.Local.Protocol;
using Dsql.Local.Rules;

namespace Dsql.Local.Proxy;

/// <summary>
/// One client connection: TLS and start-up, IAM token check, then a backend session and two pumps relaying messages,
/// asking the session's <see cref="SessionPlanner"/> (DSQL's rules) what each statement becomes on the way in and what each
/// error means on the way out.
/// </summary>
internal sealed class ClientSession : IAsyncDisposable
{
    /// <summary>PostgreSQL's limit for a password packet (<c>PG_MAX_AUTH_TOKEN_LENGTH</c>); a DSQL token is a few KB.</summary>
    private const int MaxPasswordMessageLength = 65535;

    private readonly ServerContext _server;
    private readonly TcpClient _client;
    private readonly CancellationTokenSource _stop;
    private readonly Queue<ResponseCycle> _cycles = new();
    private readonly Dictionary<string, (StatementPlan Plan, byte[] ParameterTypes)> _statements = [];
    private readonly Dictionary<string, byte[]> _portalBinds = [];
    private readonly Dictionary<string, byte[]> _portalParameterTypes = [];
    private readonly SemaphoreSlim _backendGate = new(1, 1);
    private readonly Dictionary<string, StatementPlan> _portals = [];
    private ResponseCycle? _openCycle;
    private BackendSession? _backend;
    private SessionPlanner? _planner;
    private byte[]? _heldCompletion;
    private volatile string? _closeReason;
    private volatile bool _backendLost;
    private MessageReader? _clientReader;
    private MessageWriter? _clientWriter;
    private bool _fatalRelayed;
    private int _disposed;

    public ClientSession(ServerContext server, TcpClient client, CancellationToken serverStopping)
    {
        _server = server;
        _client = client;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(serverStopping);
    }

    /// <summary>The session's planner (its DSQL transaction state); <see langword="null"/> until logged in.</summary>
    public SessionPlanner? Planner => _planner;

    public string User { get; private set; } = "";

    public async Task RunAsync()
    {
        try
        {
            await RunCoreAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or OperationCanceledException or ObjectDisposedException
                                      or SocketException or InvalidDataException or System.Security.Authentication.AuthenticationException)
        {
            // The client or the backend went away; nothing to report to anyone.
        }
        finally
        {
            await DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The bytes the session holds in its relay buffers (both directions), for the emulator's memory accounting.</summary>
    public long BufferedBytes => (_clientWriter?.Capacity ?? 0) + (_clientReader?.Capacity ?? 0) + (_backend is { } b ? b.Writer.Capacity + b.Reader.Capacity : 0);

    /// <summary>Closes the socket of a connection that has not logged in (the pending-connection limit evicts the oldest).</summary>
    public void Abort() => _client.Dispose();

    /// <summary>Closes the connection the way DSQL does at its maximum age: a FATAL error, then the socket closes.</summary>
    public void Terminate(string reason)
    {
        _closeReason = reason;
        _backend?.Dispose();
    }

    private async Task RunCoreAsync(CancellationToken cancellationToken)
    {
        // From accept to logged in, a connection has LoginTimeout: sockets that never log in do not stay forever.
        using var login = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        login.CancelAfter(_server.LoginTimeout);
        if (await LogInAsync(login.Token).ConfigureAwait(false) is not { } client)
        {
            return;
        }

        await RelayAsync(client.Reader, client.Writer, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>TLS, start-up packet, token check and backend session; the client's reader and writer once logged in.</summary>
    private async Task<(MessageReader Reader, MessageWriter Writer)?> LogInAsync(CancellationToken cancellationToken)
    {
        _client.NoDelay = true;
        Stream stream = _client.GetStream();
        var reader = new MessageReader(stream);
        Dictionary<string, string> parameters;
        while (true)
        {
            var packet = await reader.ReadStartupPacketAsync(cancellationToken).ConfigureAwait(false);
            var code = BinaryPrimitives.ReadInt32BigEndian(packet.Span);
            if (code == ProtocolCodes.SslRequest && stream is not SslStream)
            {
                if (_server.Certificate is null)
                {
                    await stream.WriteAsync("N"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                    continue;
                }

                await stream.WriteAsync("S"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                await tls.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions { ServerCertificate = _server.Certificate, ClientCertificateRequired = false },
                    cancellationToken).ConfigureAwait(false);
                stream = tls;
                reader = new MessageReader(stream);
                continue;
            }

            if (code == ProtocolCodes.GssEncRequest && stream is not SslStream)
            {
                await stream.WriteAsync("N"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (code == ProtocolCodes.CancelRequest)
            {
                await ForwardCancelAsync(packet.ToArray(), cancellationToken).ConfigureAwait(false);
                return null;
            }

            var writer0 = new MessageWriter(stream);
            if (code != ProtocolCodes.ProtocolVersion3)
            {
                await FailAsync(writer0, "08P01", $"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: Aurora DSQL speaks protocol 3.0", cancellationToken).ConfigureAwait(false);
                return null;
            }

            parameters = ParseStartupParameters(packet.Span[4..]);
            break;
        }

        var writer = new MessageWriter(stream);
        if (LoginRules.CheckStartup(parameters, _server.RequireTls, encrypted: stream is SslStream) is { } refused)
        {
            await FailAsync(writer, refused, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var user = parameters["user"];
        User = user;
        var database = parameters.GetValueOrDefault("database", user);

        // DSQL asks for the IAM token as a clear-text password (always over TLS).
        writer.Write(ProtocolCodes.Authentication, b => b.Int32(3));
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        // Before login a message may not claim more than PostgreSQL's own limit for a password packet.
        reader.MaxMessageLength = MaxPasswordMessageLength;
        PgMessage passwordMessage;
        try
        {
            passwordMessage = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            await FailAsync(writer, "08P01", e.Message, cancellationToken).ConfigureAwait(false);
            return null;
        }

        reader.MaxMessageLength = MessageReader.DefaultMaxMessageLength;
        if (passwordMessage.Type != ProtocolCodes.Password)
        {
            await FailAsync(writer, "08P01", $"expected a password message, got message type '{(char)passwordMessage.Type}'", cancellationToken).ConfigureAwait(false);
            return null;
        }

        var password = new PayloadReader(passwordMessage.Payload.Span).CString();
        string? accessKeyId = null;
        if (_server.Verifier is { } verifier)
        {
            if (verifier.Verify(user, password, out accessKeyId) is { } failure)
            {
                _server.Log?.Invoke($"refused login for role '{user}': {failure.Reason}");
                await FailAsync(writer, failure.SqlState, $"password authentication failed for user \"{user}\": {failure.Reason}", cancellationToken).ConfigureAwait(false);
                return null;
            }
        }

        if (LoginRules.CheckDatabase(database) is { } noDatabase)
        {
            await FailAsync(writer, noDatabase, cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (StartupParameters.Filter(parameters, out var sessionParameters) is { } refusedParameter)
        {
            await FailAsync(writer, refusedParameter, cancellationToken).ConfigureAwait(false);
            return null;
        }

        // Counted before the backend session opens, so the limit also bounds backend connections; also what
        // CloseAllConnections reaches.
        if (!_server.TryRegister(this))
        {
            await FailAsync(writer, LoginRules.TooManyConnections(), cancellationToken).ConfigureAwait(false);
            return null;
        }

        try
        {
            var login = await _server.AuthorizeLoginAsync(user, accessKeyId, cancellationToken).ConfigureAwait(false);
            if (login.Refusal is { } refusal)
            {
                _server.Log?.Invoke($"refused login for role '{user}': {refusal}");
                await FailAsync(writer, "28000", $"password authentication failed for user \"{user}\": {refusal}", cancellationToken).ConfigureAwait(false);
                return null;
            }

            _backend = await BackendConnector.ConnectAsync(login.Endpoint!, sessionParameters, _server.MaxTransactionAge, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidOperationException or global::Npgsql.NpgsqlException)
        {
            // The backend PostgreSQL is unreachable or refused us: tell the client why instead of dropping the socket.
            _server.Log?.Invoke($"backend connection for role '{user}' failed: {e.Message}");
            await FailAsync(writer, "08006", $"Dsql.Local could not reach its PostgreSQL backend: {e.Message}", cancellationToken).ConfigureAwait(false);
            return null;
        }
        if (_backend.Error is { } backendError)
        {
            backendError.Fields['S'] = backendError.Fields['V'] = "FATAL";
            writer.Write(ProtocolCodes.ErrorResponse, backendError.ToPayload());
            await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }

        _planner = new SessionPlanner(_server.Dialect, new RefusalRegistry(), _server.Conflicts, user, parameters.GetValueOrDefault("application_name"), _server.MaxTransactionAge);
        await PrepareBackendAsync(cancellationToken).ConfigureAwait(false);

        writer.Write(ProtocolCodes.Authentication, b => b.Int32(0));
        foreach (var (type, payload) in _backend.StartupMessages)
        {
            WriteToClient(writer, type, payload);
        }

        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        return (reader, writer);
    }

    /// <summary>The logged-in session: both pumps until either side ends, then the client learns why if it can.</summary>
    private async Task RelayAsync(MessageReader reader, MessageWriter writer, CancellationToken cancellationToken)
    {
        using var ageTimer = new Timer(
            _ => Terminate($"terminating connection: it reached Aurora DSQL's maximum connection age of {_server.MaxConnectionAge.TotalSeconds:0} seconds; open a new connection"),
            null, _server.MaxConnectionAge, Timeout.InfiniteTimeSpan);

        var backend = _backend!;
        (_clientReader, _clientWriter) = (reader, writer);
        reader.BeforeBlockingRead = () => new ValueTask(FlushBackendAsync(cancellationToken));
        backend.Reader.BeforeBlockingRead = () => writer.FlushAsync(cancellationToken);
        var toBackend = PumpClientToBackendAsync(reader, cancellationToken);
        var toClient = PumpBackendToClientAsync(writer, cancellationToken);
        await Task.WhenAny(toBackend, toClient).ConfigureAwait(false);
        if (FinalError(toBackend) is { } final)
        {
            // Stop the backend pump first (Terminate already has): the error must not interleave with what it writes.
            backend.Dispose();
            try
            {
                await toClient.ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException or OperationCanceledException or SocketException
                                          or InvalidDataException)
            {
            }

            try
            {
                await FailAsync(writer, final.SqlState, final.Message, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
            {
                // The client is already gone.
            }
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        backend.Dispose();
        _client.Dispose();
        try
        {
            await Task.WhenAll(toBackend, toClient).ConfigureAwait(false);
        }
        catch
        {
            // One side ending ends the other; its exception carries no news.
        }
    }

    /// <summary>
    /// Why the session ends, when the client should hear it as a FATAL error rather than a closed socket: the maximum
    /// age or an administrator's close, a protocol violation by the client, or the backend session dying under it.
    /// </summary>
    private (string SqlState, string Message)? FinalError(Task toBackend)
    {
        if (_closeReason is { } reason)
        {
            return ("08006", reason);
        }

        if (toBackend is { IsFaulted: true, Exception.InnerException: InvalidDataException violation })
        {
            return ("08P01", violation.Message);
        }

        if (_backendLost && !_fatalRelayed && !toBackend.IsCompleted)
        {
            _server.Log?.Invoke($"the backend session of role '{User}' ended unexpectedly");
            return ("08006", "terminating connection: the emulator's PostgreSQL backend ended this session unexpectedly (it was stopped, restarted or crashed); open a new connection");
        }

        return null;
    }

    /// <summary>Reads the next backend message, noting when the backend connection itself is what failed.</summary>
    private async ValueTask<PgMessage> ReadBackendAsync(MessageReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or SocketException)
        {
            _backendLost = true;
            throw;
        }
    }

    /// <summary>Prepares the emulator's own statements on the backend session (their answers are hidden).</summary>
    private async Task PrepareBackendAsync(CancellationToken cancellationToken)
    {
        var backend = _backend!;
        backend.Writer.Write(ProtocolCodes.Parse, b => b.CString(SessionPlanner.RowCheckStatement).CString(SessionPlanner.RowCheckSql).Int16(0));
        backend.Writer.Write(ProtocolCodes.Sync, ReadOnlySpan<byte>.Empty);
        await backend.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var message = await backend.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (message.Type == ProtocolCodes.ErrorResponse)
            {
                throw new InvalidOperationException("The emulator could not prepare its row-limit check on the backend: " + PgError.Parse(message.Payload.Span));
            }

            if (message.Type == ProtocolCodes.ReadyForQuery)
            {
                return;
            }
        }
    }

    private async Task PumpClientToBackendAsync(MessageReader reader, CancellationToken cancellationToken)
    {
        var backend = _backend!.Writer;
        var planner = _planner!;
        while (true)
        {
            var message = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            await _backendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!await ForwardAsync(message, reader, backend, planner, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
            finally
            {
                _backendGate.Release();
            }
        }
    }

    private async Task FlushBackendAsync(CancellationToken cancellationToken)
    {
        await _backendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _backend!.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _backendGate.Release();
        }
    }

    /// <summary>Applies DSQL's rules to one client message and forwards it; false after Terminate.</summary>
    private async Task<bool> ForwardAsync(PgMessage message, MessageReader reader, MessageWriter backend, SessionPlanner planner, CancellationToken cancellationToken)
    {
        {
            switch (message.Type)
            {
                case ProtocolCodes.Query:
                {
                    var sql = new PayloadReader(message.Payload.Span).CString();
                    var cycle = NewCycle(extended: false, simple: true);
                    var (backendSql, plans) = planner.PlanSimpleQuery(sql);
                    foreach (var plan in plans)
                    {
                        cycle.Add(plan);
                    }

                    backend.Write(ProtocolCodes.Query, b => b.CString(backendSql));
                    break;
                }

                case ProtocolCodes.Parse:
                {
                    var payload = new PayloadReader(message.Payload.Span);
                    var name = payload.CString();
                    var sql = payload.CString();
                    var rest = payload.Rest();
                    EnsureOpenCycle();
                    var plan = planner.PlanExtended(sql);
                    _statements[name] = (plan, rest.ToArray());
                    if (ReferenceEquals(plan.BackendSql, sql) || plan.BackendSql == sql)
                    {
                        // Nothing to rewrite (the common case): relay the client's bytes as they came.
                        backend.Write(ProtocolCodes.Parse, message.Payload.Span);
                    }
                    else
                    {
                        var rewritten = new PayloadBuilder().CString(name).CString(plan.BackendSql).Bytes(rest);
                        backend.Write(ProtocolCodes.Parse, rewritten.AsSpan());
                    }
                    break;
                }

                case ProtocolCodes.Bind:
                {
                    var payload = new PayloadReader(message.Payload.Span);
                    var portal = payload.CString();
                    var statement = payload.CString();
                    EnsureOpenCycle();
                    var known = _statements.TryGetValue(statement, out var prepared);
                    _portals[portal] = known ? prepared.Plan : StatementPlan.PassThrough("");
                    if (known && prepared.Plan.Probe is not null)
                    {
                        _portalBinds[portal] = message.Payload.ToArray();
                        _portalParameterTypes[portal] = prepared.ParameterTypes;
                    }

                    backend.Write(message.Type, message.Payload.Span);
                    break;
                }

                case ProtocolCodes.Execute:
                {
                    var payload = new PayloadReader(message.Payload.Span);
                    var portal = payload.CString();
                    var maxRows = payload.Int32();
                    var cycle = EnsureOpenCycle();
                    var plan = _portals.GetValueOrDefault(portal) ?? StatementPlan.PassThrough("");
                    cycle.Add(plan, plan.Probe is not null && _portalBinds.TryGetValue(portal, out var bind)
                        ? new Execution(_portalParameterTypes[portal], bind)
                        : null);
                    planner.OnExecute(plan);
                    backend.Write(message.Type, message.Payload.Span);
                    if (plan.CheckRowLimit && maxRows == 0)
                    {
                        // Count the transaction's changed rows right after the statement, inside the same transaction.
                        cycle.Add(SessionPlanner.RowCheckPlan);
                        // The unnamed portal: named portals live until the transaction ends. The client's statement ran to completion.
                        backend.Write(ProtocolCodes.Bind, b => b.CString("").CString(SessionPlanner.RowCheckStatement).Int16(0).Int16(0).Int16(0));
                        backend.Write(ProtocolCodes.Execute, b => b.CString("").Int32(0));
                    }

                    break;
                }

                case ProtocolCodes.Close:
                {
                    var payload = new PayloadReader(message.Payload.Span);
                    var kind = payload.Byte();
                    var name = payload.CString();
                    EnsureOpenCycle();
                    if (kind == (byte)'S')
                    {
                        _statements.Remove(name);
                    }
                    else
                    {
                        _portals.Remove(name);
                    }
                    backend.Write(message.Type, message.Payload.Span);
                    break;
                }

                case ProtocolCodes.Sync:
                    EnsureOpenCycle();
                    _openCycle = null;
                    planner.OnSync();
                    backend.Write(message.Type, message.Payload.Span);
                    break;

                case (byte)'F': // FunctionCall: answered like a query, with its own ReadyForQuery.
                    NewCycle(extended: false);
                    backend.Write(message.Type, message.Payload.Span);
                    break;

                case ProtocolCodes.Terminate:
                    backend.Write(message.Type, message.Payload.Span);
                    await backend.FlushAsync(cancellationToken).ConfigureAwait(false);
                    return false;

                default:
                    if (message.Type == ProtocolCodes.Describe)
                    {
                        EnsureOpenCycle();
                    }

                    backend.Write(message.Type, message.Payload.Span);
                    break;
            }

            if (message.Type is ProtocolCodes.Sync or ProtocolCodes.Flush or ProtocolCodes.Query && !reader.HasBufferedData
                || backend.PendingBytes >= MessageWriter.BatchBytes)
            {
                await backend.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
    }

    private ResponseCycle NewCycle(bool extended, bool hidden = false, bool simple = false)
    {
        var cycle = new ResponseCycle { Hidden = hidden, Simple = simple };
        lock (_cycles)
        {
            _cycles.Enqueue(cycle);
        }

        if (extended)
        {
            _openCycle = cycle;
        }

        return cycle;
    }

    private ResponseCycle EnsureOpenCycle() => _openCycle ?? NewCycle(extended: true);

    private ResponseCycle? FrontCycle()
    {
        lock (_cycles)
        {
            return _cycles.Count > 0 ? _cycles.Peek() : null;
        }
    }

    private async Task PumpBackendToClientAsync(MessageWriter client, CancellationToken cancellationToken)
    {
        var reader = _backend!.Reader;
        var planner = _planner!;
        (StatementPlan Plan, Execution? Execution, bool Simple)? conflicted = null;
        while (true)
        {
            var message = await ReadBackendAsync(reader, cancellationToken).ConfigureAwait(false);
            var cycle = FrontCycle();
            var current = cycle?.Current;
            var hidden = cycle?.Hidden == true || current?.Hidden == true;
            if (conflicted is not null && message.Type != ProtocolCodes.ReadyForQuery)
            {
                // The backend skips to the end of the cycle after the conflict; nothing of that reaches the client.
                continue;
            }

            switch (message.Type)
            {
                case ProtocolCodes.CommandComplete:
                    cycle?.Advance();
                    if (hidden)
                    {
                        ReleaseHeldCompletion(client);
                        break;
                    }

                    if (current?.ErrorInsteadOfCompletion is { } commitError)
                    {
                        client.Write(ProtocolCodes.ErrorResponse, commitError.ToPayload());
                        break;
                    }

                    planner.OnCommandComplete(current);
                    // The backend's tag bytes are relayed as they are unless the plan overrides them; copied only when held.
                    ReadOnlySpan<byte> tag = current?.TagOverride is { } overridden
                        ? Encoding.UTF8.GetBytes(overridden + "\0")
                        : message.Payload.Span;
                    if (current?.CheckRowLimit == true && cycle!.Current == SessionPlanner.RowCheckPlan)
                    {
                        _heldCompletion = tag.ToArray();
                    }
                    else
                    {
                        client.Write(ProtocolCodes.CommandComplete, tag);
                    }

                    break;

                case ProtocolCodes.EmptyQueryResponse or ProtocolCodes.PortalSuspended:
                    cycle?.Advance();
                    client.Write(message.Type, message.Payload.Span);
                    break;

                case ProtocolCodes.ErrorResponse:
                {
                    _heldCompletion = null;
                    var error = PgError.Parse(message.Payload.Span);
                    _fatalRelayed |= error.Fields.GetValueOrDefault('V') is "FATAL" or "PANIC";
                    var statement = hidden ? null : current;
                    var canProbe = cycle is not null && (cycle.Simple || cycle.CurrentExecution is not null);
                    if (planner.TranslateBackendError(error, statement, canProbe) is not { } translated)
                    {
                        // DSQL would let the write proceed and fail this transaction at COMMIT.
                        conflicted = (current!, cycle!.CurrentExecution, cycle.Simple);
                        break;
                    }

                    if (cycle?.Hidden != true)
                    {
                        client.Write(ProtocolCodes.ErrorResponse, translated.ToPayload());
                    }

                    break;
                }

                case ProtocolCodes.ReadyForQuery:
                {
                    ReleaseHeldCompletion(client);
                    bool idle;
                    lock (_cycles)
                    {
                        if (_cycles.Count > 0)
                        {
                            _cycles.Dequeue();
                        }

                        idle = _cycles.Count == 0 && _openCycle is null;
                    }

                    var status = (char)message.Payload.Span[0];
                    if (conflicted is { } loser)
                    {
                        conflicted = null;
                        status = await AnswerConflictedWriteAsync(client, loser.Plan, loser.Execution, loser.Simple, cancellationToken).ConfigureAwait(false);
                        planner.MarkConflicted();
                        client.Write(ProtocolCodes.ReadyForQuery, [(byte)status]);
                        break;
                    }

                    planner.OnReadyForQuery(status, idle);
                    if (cycle?.Hidden != true)
                    {
                        client.Write(message.Type, message.Payload.Span);
                    }

                    break;
                }

                default:
                    if (!hidden)
                    {
                        WriteToClient(client, message.Type, message.Payload.Span);
                    }

                    break;
            }

            // Flush when the backend has nothing more ready, and at every batch: awaiting the client's socket is the
            // back-pressure that makes a slow reader slow the backend down instead of filling the emulator's memory.
            if (!reader.HasBufferedData || client.PendingBytes >= MessageWriter.BatchBytes)
            {
                await client.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A write met a row another open transaction holds. The backend transaction is abandoned and replaced by a fresh
    /// one (the session will fail at COMMIT anyway), and the client gets the answer the statement would have had from a
    /// read-only probe in its place: its row count, or a locking SELECT's rows.
    /// </summary>
    private async Task<char> AnswerConflictedWriteAsync(MessageWriter client, StatementPlan plan, Execution? execution, bool simple, CancellationToken cancellationToken)
    {
        var backend = _backend!;
        var probe = plan.Probe!;
        await _backendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            backend.Writer.Write(ProtocolCodes.Query, b => b.CString(ConflictProbe.RestartTransactionSql));
            if (execution is null)
            {
                backend.Writer.Write(ProtocolCodes.Query, b => b.CString(probe.Sql));
            }
            else
            {
                backend.Writer.Write(ProtocolCodes.Parse, b => b.CString("").CString(probe.Sql).Bytes(execution.ParameterTypes));
                backend.Writer.Write(ProtocolCodes.Bind, ProbeBind(execution.Bind, keepResultFormats: probe.ReturnsRows));
                backend.Writer.Write(ProtocolCodes.Execute, b => b.CString("").Int32(0));
                backend.Writer.Write(ProtocolCodes.Sync, ReadOnlySpan<byte>.Empty);
            }

            await backend.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            var readyCount = 0;
            long rows = 0;
            string? count = null;
            PgError? failure = null;
            var status = 'T';
            while (readyCount < 2)
            {
                var message = await backend.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                switch (message.Type)
                {
                    case ProtocolCodes.ReadyForQuery:
                        readyCount++;
                        status = (char)message.Payload.Span[0];
                        break;
                    case ProtocolCodes.ErrorResponse:
                        failure ??= PgError.Parse(message.Payload.Span);
                        break;
                    case ProtocolCodes.DataRow when readyCount == 1:
                        rows++;
                        if (probe.ReturnsRows)
                        {
                            client.Write(ProtocolCodes.DataRow, message.Payload.Span);
                        }
                        else
                        {
                            var reader = new PayloadReader(message.Payload.Span);
                            reader.Int16();
                            var length = reader.Int32();
                            count = Encoding.UTF8.GetString(reader.Rest()[..length]);
                        }

                        break;
                    case ProtocolCodes.RowDescription when readyCount == 1 && simple && probe.ReturnsRows:
                        client.Write(ProtocolCodes.RowDescription, message.Payload.Span);
                        break;
                }
            }

            if (failure is not null)
            {
                client.Write(ProtocolCodes.ErrorResponse, DsqlErrors.DataConflict().ToPayload());
                return status;
            }

            var tag = probe.ReturnsRows ? $"{probe.TagPrefix} {rows}" : $"{probe.TagPrefix} {count ?? "0"}";
            client.Write(ProtocolCodes.CommandComplete, b => b.CString(tag));
            return status;
        }
        finally
        {
            _backendGate.Release();
        }
    }

    /// <summary>The client's Bind, re-aimed at the unnamed portal and statement; text results unless the probe returns the statement's own rows.</summary>
    private static byte[] ProbeBind(byte[] bind, bool keepResultFormats)
    {
        var reader = new PayloadReader(bind);
        reader.CString();
        reader.CString();
        var start = reader.Position;
        var formats = reader.Int16();
        for (var i = 0; i < formats; i++)
        {
            reader.Int16();
        }

        var parameters = reader.Int16();
        for (var i = 0; i < parameters; i++)
        {
            var length = reader.Int32();
            for (var j = 0; j < Math.Max(length, 0); j++)
            {
                reader.Byte();
            }
        }

        var builder = new PayloadBuilder().CString("").CString("").Bytes(bind.AsSpan(start, reader.Position - start));
        if (keepResultFormats)
        {
            builder.Bytes(reader.Rest());
        }
        else
        {
            builder.Int16(0);
        }

        return builder.ToArray();
    }

    private void ReleaseHeldCompletion(MessageWriter client)
    {
        if (_heldCompletion is { } held)
        {
            _heldCompletion = null;
            client.Write(ProtocolCodes.CommandComplete, held);
        }
    }

    private static void WriteToClient(MessageWriter writer, byte type, ReadOnlySpan<byte> payload)
    {
        if (type == ProtocolCodes.ParameterStatus)
        {
            var reader = new PayloadReader(payload);
            var name = reader.CString();
            if (LoginRules.ReportedParameter(name) is { } value)
            {
                writer.Write(type, b => b.CString(name).CString(value));
                return;
            }
        }

        writer.Write(type, payload);
    }

    private async Task ForwardCancelAsync(byte[] packet, CancellationToken cancellationToken)
    {
        using var socket = await BackendConnector.OpenSocketAsync(_server.Backend, cancellationToken).ConfigureAwait(false);
        var framed = new byte[packet.Length + 4];
        BinaryPrimitives.WriteInt32BigEndian(framed, framed.Length);
        packet.CopyTo(framed, 4);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(framed, cancellationToken).ConfigureAwait(false);
        // The backend closes the connection once it has handled the request.
        await stream.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(false);
    }

    private static Task FailAsync(MessageWriter writer, string sqlState, string message, CancellationToken cancellationToken)
        => FailAsync(writer, new PgError("FATAL", sqlState, message), cancellationToken);

    private static async Task FailAsync(MessageWriter writer, PgError error, CancellationToken cancellationToken)
    {
        writer.Write(ProtocolCodes.ErrorResponse, error.ToPayload());
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static Dictionary<string, string> ParseStartupParameters(ReadOnlySpan<byte> payload)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        var reader = new PayloadReader(payload);
        while (!reader.AtEnd)
        {
            var name = reader.CString();
            if (name.Length == 0)
            {
                break;
            }

            parameters[name] = reader.CString();
        }

        return parameters;
    }

    public async ValueTask DisposeAsync()
    {
        // Called by the session itself and by the server's shutdown, possibly at once.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _server.Unregister(this);
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        _backend?.Dispose();
        _client.Dispose();
        _stop.Dispose();
    }
}
