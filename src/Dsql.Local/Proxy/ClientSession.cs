using System.Buffers.Binary;
using System.Diagnostics;
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
internal sealed class ClientSession : IAsyncDisposable, IOccParticipant
{
    /// <summary>What an evicted transaction's backend session runs: its locks go, a fresh snapshot and savepoint take its place.</summary>
    private const string EvictionSql = "ROLLBACK; BEGIN ISOLATION LEVEL REPEATABLE READ; " + SessionPlanner.SnapshotSql + "; " + SessionPlanner.SavepointSql;

    /// <summary>PostgreSQL's limit for a password packet (<c>PG_MAX_AUTH_TOKEN_LENGTH</c>); a DSQL token is a few KB.</summary>
    private const int MaxPasswordMessageLength = 65535;

    /// <summary>DSQL's maximum message size after login (quotas table: 10 MiB, <c>FATAL 08P01 invalid message length</c>).</summary>
    internal const int MaxMessageLength = 10 * 1024 * 1024;

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
    private int _backendPid;
    private volatile bool _answeringConflict;

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

        reader.MaxMessageLength = MaxMessageLength;
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

        _planner = new SessionPlanner(_server.Dialect, new RefusalRegistry(), _server.Conflicts, user, parameters.GetValueOrDefault("application_name"), _server.MaxTransactionAge)
        {
            Participant = this,
        };
        await PrepareBackendAsync(cancellationToken).ConfigureAwait(false);
        if (_backend.StartupMessages.FirstOrDefault(m => m.Type == ProtocolCodes.BackendKeyData) is { Payload: { Length: >= 4 } keyData })
        {
            // Other sessions find who holds a row by backend process id.
            _backendPid = BinaryPrimitives.ReadInt32BigEndian(keyData);
            _server.Conflicts.Register(_backendPid, this);
        }

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

        // A client that said goodbye (Terminate) completed its pump; one that vanished makes the write below fail quietly.
        if (_backendLost && !_fatalRelayed && !toBackend.IsCompletedSuccessfully)
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
        backend.Writer.Write(ProtocolCodes.Parse, b => b.CString(SessionPlanner.SnapshotStatement).CString(SessionPlanner.SnapshotSql).Int16(0));
        backend.Writer.Write(ProtocolCodes.Parse, b => b.CString(SessionPlanner.SavepointStatement).CString(SessionPlanner.SavepointSql).Int16(0));
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
            if (planner.NeedsCommitResolution && StartsCommit(message, planner))
            {
                // DSQL decides at COMMIT: replay the writes deferred behind other open transactions, evicting them.
                await ResolveCommitAsync(planner, cancellationToken).ConfigureAwait(false);
            }

            await _backendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!await ForwardAsync(message, reader, backend, planner, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                // Writing to a backend that died can fail before its read side notices: the session still ends in FATAL.
                _backendLost = true;
                throw;
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
        catch (Exception e) when (e is IOException or SocketException)
        {
            _backendLost = true;
            throw;
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
                    if (known && (prepared.Plan.Probe is not null || prepared.Plan.Kind == StatementKind.Ddl))
                    {
                        // Kept to probe, defer or re-run the statement should it meet another transaction's rows or table.
                        _portalBinds[portal] = message.Payload.ToArray();
                        _portalParameterTypes[portal] = prepared.ParameterTypes;
                    }
                    else
                    {
                        _portalBinds.Remove(portal);
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
                    cycle.Add(plan, _portalBinds.TryGetValue(portal, out var bind)
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

                    if (plan.PinSnapshot)
                    {
                        // DSQL takes the snapshot at BEGIN; PostgreSQL at the first statement that needs one.
                        ExecuteHidden(cycle, backend, SessionPlanner.SnapshotPlan, SessionPlanner.SnapshotStatement);
                        ExecuteHidden(cycle, backend, SessionPlanner.SavepointPlan, SessionPlanner.SavepointStatement);
                    }
                    else if (plan.Probe is not null && maxRows == 0 && planner.InTransactionBlock)
                    {
                        // Where a later conflicting write of this transaction rolls back to.
                        ExecuteHidden(cycle, backend, SessionPlanner.SavepointPlan, SessionPlanner.SavepointStatement);
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
        (ConflictHandling Handling, StatementPlan Plan, Execution? Execution, bool Simple, bool Described)? conflicted = null;
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
                    if (cycle?.Completion is not null)
                    {
                        cycle.Error ??= error;
                    }

                    var canProbe = cycle is not null && (cycle.Simple || cycle.CurrentExecution is not null);
                    var handling = planner.Classify(error, statement, canProbe, sole: cycle?.ClientStatements == 1);
                    if (handling != ConflictHandling.Translate)
                    {
                        // DSQL would not fail this statement: answered once the backend is ready (see HandleConflictAsync).
                        _answeringConflict = true;
                        conflicted = (handling, current!, cycle!.CurrentExecution, cycle.Simple, cycle.Described);
                        break;
                    }

                    var translated = planner.TranslateBackendError(error, statement, canProbe)!;

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
                    if (conflicted is { } met)
                    {
                        conflicted = null;
                        status = await HandleConflictAsync(client, met.Handling, met.Plan, met.Execution, met.Simple, met.Described, cancellationToken).ConfigureAwait(false);
                        _answeringConflict = false;
                        planner.OnReadyForQuery(status, idle);
                        client.Write(ProtocolCodes.ReadyForQuery, [(byte)status]);
                        break;
                    }

                    planner.OnReadyForQuery(status, idle);
                    if (cycle?.Hidden != true)
                    {
                        client.Write(message.Type, message.Payload.Span);
                    }

                    cycle?.Completion?.TrySetResult(new HiddenResult(cycle.Error, cycle.Values));

                    break;
                }

                default:
                    if (!hidden)
                    {
                        if (cycle is not null && message.Type == ProtocolCodes.RowDescription)
                        {
                            cycle.Described = true;
                        }

                        WriteToClient(client, message.Type, message.Payload.Span);
                    }
                    else if (message.Type == ProtocolCodes.DataRow && cycle?.Completion is not null)
                    {
                        cycle.Values.Add(FirstColumn(message.Payload.Span));
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
    /// A statement met rows or a table another transaction holds, where DSQL would not have failed it (see
    /// <see cref="ConflictHandling"/>). Runs while the backend is otherwise idle, reading the backend directly, and
    /// returns the transaction status for the client's <c>ReadyForQuery</c>.
    /// </summary>
    private async Task<char> HandleConflictAsync(
        MessageWriter client, ConflictHandling handling, StatementPlan plan, Execution? execution, bool simple, bool described, CancellationToken cancellationToken)
    {
        await _backendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return handling == ConflictHandling.Retry
                ? await RetryAfterEvictingAsync(client, plan, execution, simple, described, cancellationToken).ConfigureAwait(false)
                : await AnswerFromProbeAsync(client, handling, plan, execution, simple, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _backendGate.Release();
        }
    }

    /// <summary>
    /// A write of an open transaction met rows another transaction holds (<see cref="ConflictHandling.Defer"/>), or rows
    /// a later commit changed (<see cref="ConflictHandling.Doom"/>). The backend transaction goes back to the emulator's
    /// savepoint (keeping its snapshot and earlier writes), the holders are looked up, and the client gets the answer
    /// the statement would have had from a read-only probe: its row count, or a locking SELECT's rows.
    /// </summary>
    private async Task<char> AnswerFromProbeAsync(
        MessageWriter client, ConflictHandling handling, StatementPlan plan, Execution? execution, bool simple, CancellationToken cancellationToken)
    {
        var planner = _planner!;
        var probe = plan.Probe!;
        var savepoint = planner.SavepointSet;
        var requests = new List<Action<MessageWriter>> { Simple(savepoint ? SessionPlanner.RollbackToSavepointSql : ConflictProbe.RestartTransactionSql) };
        var holderPhase = -1;
        if (handling == ConflictHandling.Defer && savepoint && probe.HolderSql is { } holderSql)
        {
            holderPhase = requests.Count;
            requests.Add(Statement(holderSql, execution, keepResultFormats: false));
            // Should the holder query itself fail, the transaction is back at its savepoint all the same.
            requests.Add(Simple(SessionPlanner.RollbackToSavepointSql));
        }

        var probePhase = requests.Count;
        requests.Add(Statement(probe.Sql, execution, keepResultFormats: probe.ReturnsRows));
        var holderPids = new List<int>();
        long rows = 0;
        string? count = null;
        PgError? failure = null;
        var status = await ExchangeAsync(requests, (phase, message) =>
        {
            if (phase == holderPhase)
            {
                if (message.Type == ProtocolCodes.DataRow && int.TryParse(FirstColumn(message.Payload.Span), out var pid))
                {
                    holderPids.Add(pid);
                }

                return;
            }

            switch (message.Type)
            {
                case ProtocolCodes.ErrorResponse:
                    failure ??= PgError.Parse(message.Payload.Span);
                    break;
                case ProtocolCodes.DataRow when phase == probePhase:
                    rows++;
                    if (probe.ReturnsRows)
                    {
                        client.Write(ProtocolCodes.DataRow, message.Payload.Span);
                    }
                    else
                    {
                        count = FirstColumn(message.Payload.Span);
                    }

                    break;
                case ProtocolCodes.RowDescription when phase == probePhase && simple && probe.ReturnsRows:
                    client.Write(ProtocolCodes.RowDescription, message.Payload.Span);
                    break;
            }
        }, cancellationToken).ConfigureAwait(false);

        if (handling == ConflictHandling.Defer && savepoint)
        {
            var conflicts = _server.Conflicts;
            var holders = holderPids.Count > 0 ? conflicts.OpenTransactionsOf(holderPids, this) : conflicts.OpenTransactionsTouching(plan.Tables, this);
            planner.AddPending(new PendingWrite(plan.BackendSql, execution?.ParameterTypes, execution?.Bind, holders));
        }
        else
        {
            planner.MarkConflicted();
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

    /// <summary>
    /// An autocommit write, or a schema change, met rows or a table an open transaction holds. DSQL commits it first, so
    /// the holders are evicted (they fail at COMMIT: OC000, or OC001 for a schema change) and the statement runs again,
    /// its answer relayed to the client.
    /// </summary>
    private async Task<char> RetryAfterEvictingAsync(
        MessageWriter client, StatementPlan plan, Execution? execution, bool simple, bool described, CancellationToken cancellationToken)
    {
        var planner = _planner!;
        var conflicts = _server.Conflicts;
        var schemaChange = plan.Kind == StatementKind.Ddl;
        var requests = new List<Action<MessageWriter>>();
        if (planner.InTransactionBlock)
        {
            requests.Add(Simple(SessionPlanner.RollbackToSavepointSql));
        }

        var holderPhase = requests.Count;
        if (schemaChange)
        {
            requests.Add(Simple(ConflictProbe.RelationHoldersSql(plan.Tables)));
        }
        else if (plan.Probe?.HolderSql is { } holderSql)
        {
            requests.Add(Statement(holderSql, execution, keepResultFormats: false));
        }

        var holderPids = new List<int>();
        if (requests.Count > 0)
        {
            await ExchangeAsync(requests, (phase, message) =>
            {
                if (phase == holderPhase && message.Type == ProtocolCodes.DataRow && int.TryParse(FirstColumn(message.Payload.Span), out var pid))
                {
                    holderPids.Add(pid);
                }
            }, cancellationToken).ConfigureAwait(false);
        }

        var holders = holderPids.Count > 0 ? conflicts.OpenTransactionsOf(holderPids, this)
            : schemaChange ? [] : conflicts.OpenTransactionsTouching(plan.Tables, this);
        if (holders.Count > 0 && await conflicts.CommitGate.WaitAsync(ConflictCoordinator.DecisionPatience, cancellationToken).ConfigureAwait(false))
        {
            try
            {
                var reason = schemaChange ? DsqlErrors.SchemaConflict() : DsqlErrors.DataConflict();
                foreach (var holder in holders)
                {
                    if (holder.Session is { } session)
                    {
                        await session.EvictAsync(holder, reason, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                conflicts.CommitGate.Release();
            }
        }

        return await ExchangeAsync([Statement(plan.BackendSql, execution, keepResultFormats: true)], (_, message) =>
        {
            switch (message.Type)
            {
                case ProtocolCodes.DataRow or ProtocolCodes.NoticeResponse:
                    client.Write(message.Type, message.Payload.Span);
                    break;
                case ProtocolCodes.RowDescription when simple && !described:
                    client.Write(message.Type, message.Payload.Span);
                    break;
                case ProtocolCodes.CommandComplete:
                    planner.OnCommandComplete(plan);
                    if (plan.TagOverride is { } overridden)
                    {
                        client.Write(ProtocolCodes.CommandComplete, b => b.CString(overridden));
                    }
                    else
                    {
                        client.Write(ProtocolCodes.CommandComplete, message.Payload.Span);
                    }

                    break;
                case ProtocolCodes.ErrorResponse:
                    var error = planner.TranslateBackendError(PgError.Parse(message.Payload.Span), plan, canProbe: false);
                    client.Write(ProtocolCodes.ErrorResponse, error!.ToPayload());
                    break;
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends the requests (each a simple query, or extended messages ending in <c>Sync</c>) and reads the backend until
    /// each is answered, handing every message but <c>ReadyForQuery</c> to <paramref name="onMessage"/> with the index of
    /// the request it answers. Only while nothing else is in flight (the pump is the caller, the caller holds the gate).
    /// </summary>
    private async Task<char> ExchangeAsync(IReadOnlyList<Action<MessageWriter>> requests, Action<int, PgMessage> onMessage, CancellationToken cancellationToken)
    {
        var backend = _backend!;
        foreach (var request in requests)
        {
            request(backend.Writer);
        }

        await backend.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        var ready = 0;
        var status = 'I';
        while (ready < requests.Count)
        {
            var message = await backend.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (message.Type == ProtocolCodes.ReadyForQuery)
            {
                ready++;
                status = (char)message.Payload.Span[0];
                continue;
            }

            onMessage(ready, message);
        }

        return status;
    }

    private static Action<MessageWriter> Simple(string sql) => w => w.Write(ProtocolCodes.Query, b => b.CString(sql));

    /// <summary>A statement run with the client's parameters when it came by the extended protocol, else as a simple query.</summary>
    private static Action<MessageWriter> Statement(string sql, Execution? execution, bool keepResultFormats)
        => Statement(sql, execution?.ParameterTypes, execution?.Bind, keepResultFormats);

    private static Action<MessageWriter> Statement(string sql, byte[]? parameterTypes, byte[]? bind, bool keepResultFormats)
    {
        if (parameterTypes is null || bind is null)
        {
            return Simple(sql);
        }

        return w =>
        {
            w.Write(ProtocolCodes.Parse, b => b.CString("").CString(sql).Bytes(parameterTypes));
            w.Write(ProtocolCodes.Bind, ProbeBind(bind, keepResultFormats));
            w.Write(ProtocolCodes.Execute, b => b.CString("").Int32(0));
            w.Write(ProtocolCodes.Sync, ReadOnlySpan<byte>.Empty);
        };
    }

    /// <summary>The first column of a DataRow as text (null for SQL NULL).</summary>
    private static string? FirstColumn(ReadOnlySpan<byte> dataRow)
    {
        var reader = new PayloadReader(dataRow);
        if (reader.Int16() == 0)
        {
            return null;
        }

        var length = reader.Int32();
        return length < 0 ? null : Encoding.UTF8.GetString(reader.Rest()[..length]);
    }

    /// <summary>Executes one of the emulator's prepared statements after the client's, its answer hidden.</summary>
    private static void ExecuteHidden(ResponseCycle cycle, MessageWriter backend, StatementPlan plan, string statement)
    {
        cycle.Add(plan);
        backend.Write(ProtocolCodes.Bind, b => b.CString("").CString(statement).Int16(0).Int16(0).Int16(0));
        backend.Write(ProtocolCodes.Execute, b => b.CString("").Int32(0));
    }

    /// <summary>Nothing of this session is in flight on the backend (caller holds the gate).</summary>
    private bool IsIdle()
    {
        if (_openCycle is not null || _answeringConflict)
        {
            return false;
        }

        lock (_cycles)
        {
            return _cycles.Count == 0;
        }
    }

    /// <summary>
    /// Starts an emulator round trip that the backend pump answers (hidden from the client) and completes with its first
    /// error and rows. Caller holds the gate.
    /// </summary>
    private async Task<Task<HiddenResult>> StartHiddenAsync(Action<MessageWriter> request, bool simple, CancellationToken cancellationToken)
    {
        var cycle = new ResponseCycle { Hidden = true, Simple = simple, Completion = new(TaskCreationOptions.RunContinuationsAsynchronously) };
        lock (_cycles)
        {
            _cycles.Enqueue(cycle);
        }

        request(_backend!.Writer);
        await _backend.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        return cycle.Completion.Task;
    }

    /// <inheritdoc />
    public async Task<bool> EvictAsync(TransactionToken token, PgError reason, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            if (token.State != TransactionState.Open || Volatile.Read(ref _disposed) != 0 || _planner is not { } planner)
            {
                return true;
            }

            if (await _backendGate.WaitAsync(0, cancellationToken).ConfigureAwait(false))
            {
                Task<HiddenResult>? eviction = null;
                try
                {
                    if (IsIdle())
                    {
                        if (!planner.TryEvict(token, reason))
                        {
                            return true;
                        }

                        eviction = await StartHiddenAsync(Simple(EvictionSql), simple: true, cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _backendGate.Release();
                }

                if (eviction is not null)
                {
                    try
                    {
                        await eviction.WaitAsync(ConflictCoordinator.DecisionPatience, cancellationToken).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        return false;
                    }

                    return true;
                }
            }

            if (Stopwatch.GetElapsedTime(started) > ConflictCoordinator.DecisionPatience)
            {
                return false;
            }

            await Task.Delay(2, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Whether the client message starts a lone COMMIT (a simple query, or the first Parse of an extended round trip).</summary>
    private bool StartsCommit(PgMessage message, SessionPlanner planner)
    {
        if (message.Type == ProtocolCodes.Query)
        {
            return planner.IsSoleCommit(new PayloadReader(message.Payload.Span).CString());
        }

        if (message.Type == ProtocolCodes.Parse && _openCycle is null)
        {
            var payload = new PayloadReader(message.Payload.Span);
            payload.CString();
            return planner.IsSoleCommit(payload.CString());
        }

        return false;
    }

    /// <summary>
    /// DSQL's commit-time adjudication for a transaction with deferred writes: holders that already committed (or are
    /// committing) won, so this transaction fails; holders still open lose to this earlier committer and are evicted;
    /// then every deferred write is replayed in this transaction (a write that now meets a later commit fails it). Runs
    /// under the coordinator's commit gate, before the COMMIT is forwarded.
    /// </summary>
    private async Task ResolveCommitAsync(SessionPlanner planner, CancellationToken cancellationToken)
    {
        var conflicts = _server.Conflicts;
        if (!await conflicts.CommitGate.WaitAsync(ConflictCoordinator.DecisionPatience, cancellationToken).ConfigureAwait(false))
        {
            planner.MarkConflicted();
            return;
        }

        try
        {
            if (!await ResolveUnderGateAsync(planner, cancellationToken).ConfigureAwait(false))
            {
                planner.MarkConflicted();
            }
        }
        finally
        {
            conflicts.CommitGate.Release();
        }
    }

    private async Task<bool> ResolveUnderGateAsync(SessionPlanner planner, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            await _backendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (IsIdle())
                {
                    break;
                }
            }
            finally
            {
                _backendGate.Release();
            }

            if (Stopwatch.GetElapsedTime(started) > ConflictCoordinator.DecisionPatience)
            {
                return false;
            }

            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }

        foreach (var write in planner.PendingWrites)
        {
            foreach (var holder in write.Holders)
            {
                if (holder is { State: TransactionState.Open, Session: { } session }
                    && !await session.EvictAsync(holder, DsqlErrors.DataConflict(), cancellationToken).ConfigureAwait(false))
                {
                    return false;
                }

                if (holder.Won)
                {
                    return false;
                }
            }

            Task<HiddenResult> replay;
            await _backendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                replay = await StartHiddenAsync(Statement(write.Sql, write.ParameterTypes, write.Bind, keepResultFormats: false), write.Bind is null, cancellationToken)
                    .ConfigureAwait(false);
            }
            finally
            {
                _backendGate.Release();
            }

            if ((await replay.WaitAsync(cancellationToken).ConfigureAwait(false)).Error is not null)
            {
                return false;
            }
        }

        return planner.CommitResolved();
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
        _server.Conflicts.Unregister(_backendPid, this);
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        _backend?.Dispose();
        _client.Dispose();
        _stop.Dispose();
    }
}
