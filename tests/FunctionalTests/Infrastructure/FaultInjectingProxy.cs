using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>
/// A TCP proxy on 127.0.0.1 in front of a plain-text PostgreSQL wire endpoint that can lose a server's answer: once
/// armed, the first client message matching a predicate (a <c>COMMIT</c>, an autocommit <c>INSERT</c>…) is forwarded,
/// the proxy waits until the server has finished it (its <c>ReadyForQuery</c>), and then drops the connection without
/// passing the answer on. The server has committed; the client only sees a broken connection.
/// </summary>
public sealed class FaultInjectingProxy : IAsyncDisposable
{
    private const int SslRequestCode = 80877103;
    private const int GssEncRequestCode = 80877104;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _sessions = [];
    private readonly Task _acceptLoop;
    private Func<char, string, bool>? _trigger;
    private volatile bool _forwardTrigger = true;
    private int _armedDrops;
    private int _dropped;

    public FaultInjectingProxy(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener.Start();
        _acceptLoop = AcceptAsync();
    }

    /// <summary>The port to connect to.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>How many answers were dropped so far.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    /// <summary>Drops the answer of the next <paramref name="times"/> client messages matching <paramref name="trigger"/> (message type, text).</summary>
    public void DropAnswerTo(Func<char, string, bool> trigger, int times = 1)
    {
        _forwardTrigger = true;
        _trigger = trigger;
        Volatile.Write(ref _armedDrops, times);
    }

    /// <summary>
    /// Drops the connection instead of forwarding the next <paramref name="times"/> client messages matching
    /// <paramref name="trigger"/>: the server never sees them (a <c>COMMIT</c> lost on its way, so nothing is committed).
    /// </summary>
    public void DropBeforeServerSees(Func<char, string, bool> trigger, int times = 1)
    {
        _forwardTrigger = false;
        _trigger = trigger;
        Volatile.Write(ref _armedDrops, times);
    }

    /// <summary>A simple-protocol <c>COMMIT</c> (what Npgsql sends to commit a transaction).</summary>
    public static bool IsCommit(char type, string text) => type == 'Q' && text.TrimStart().StartsWith("COMMIT", StringComparison.OrdinalIgnoreCase);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        Task[] sessions;
        lock (_sessions)
        {
            sessions = [.. _sessions];
        }

        await Task.WhenAll(sessions.Select(s => s.ContinueWith(_ => { }, TaskScheduler.Default)));
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            lock (_sessions)
            {
                _sessions.Add(Task.Run(() => RelayAsync(client)));
            }
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var server = new TcpClient();
        await server.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stopping.Token);
        var session = new Session(client.GetStream(), server.GetStream());
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        var up = ClientToServerAsync(session, stop.Token);
        var down = ServerToClientAsync(session, stop.Token);
        await Task.WhenAny(up, down);
        await stop.CancelAsync();
        client.Close();
        server.Close();
        await Task.WhenAll(up.ContinueWith(_ => { }, TaskScheduler.Default), down.ContinueWith(_ => { }, TaskScheduler.Default));
    }

    private async Task ClientToServerAsync(Session session, CancellationToken ct)
    {
        // Start-up phase: untyped messages. SSL and GSS encryption requests get a one-byte answer before the real start-up.
        while (true)
        {
            var header = await ReadExactlyAsync(session.Client, 8, ct);
            var length = BinaryPrimitives.ReadInt32BigEndian(header);
            var code = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4));
            var rest = await ReadExactlyAsync(session.Client, length - 8, ct);
            if (code is SslRequestCode or GssEncRequestCode)
            {
                Interlocked.Increment(ref session.PendingOneByteAnswers);
            }

            await session.Server.WriteAsync(header, ct);
            await session.Server.WriteAsync(rest, ct);
            if (code is not (SslRequestCode or GssEncRequestCode))
            {
                break;
            }
        }

        while (true)
        {
            var header = await ReadExactlyAsync(session.Client, 5, ct);
            var payload = await ReadExactlyAsync(session.Client, BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1)) - 4, ct);
            var type = (char)header[0];
            if (_trigger is { } trigger && Volatile.Read(ref _armedDrops) > 0 && type is 'Q' or 'P')
            {
                // Query: the text starts the payload. Parse: statement name, then the text.
                var text = type == 'Q' ? CString(payload, 0) : CString(payload, CString(payload, 0).Length + 1);
                if (trigger(type, text) && Interlocked.Decrement(ref _armedDrops) >= 0)
                {
                    if (!_forwardTrigger)
                    {
                        Interlocked.Increment(ref _dropped);
                        return; // the relay closes both sides
                    }

                    session.Swallowing = true;
                }
            }

            await session.Server.WriteAsync(header, ct);
            await session.Server.WriteAsync(payload, ct);
        }
    }

    private async Task ServerToClientAsync(Session session, CancellationToken ct)
    {
        while (true)
        {
            if (Volatile.Read(ref session.PendingOneByteAnswers) > 0)
            {
                var answer = await ReadExactlyAsync(session.Server, 1, ct);
                Interlocked.Decrement(ref session.PendingOneByteAnswers);
                await session.Client.WriteAsync(answer, ct);
                continue;
            }

            var header = await ReadExactlyAsync(session.Server, 5, ct);
            var payload = await ReadExactlyAsync(session.Server, BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1)) - 4, ct);
            if (session.Swallowing)
            {
                if (header[0] == (byte)'Z')
                {
                    // The server has finished the statement (and committed it): lose the answer.
                    Interlocked.Increment(ref _dropped);
                    return;
                }

                continue;
            }

            await session.Client.WriteAsync(header, ct);
            await session.Client.WriteAsync(payload, ct);
        }
    }

    private static string CString(byte[] buffer, int offset)
    {
        var end = Array.IndexOf(buffer, (byte)0, offset);
        return Encoding.UTF8.GetString(buffer, offset, (end < 0 ? buffer.Length : end) - offset);
    }

    private static async Task<byte[]> ReadExactlyAsync(NetworkStream stream, int count, CancellationToken ct)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer, ct);
        return buffer;
    }

    private sealed class Session(NetworkStream client, NetworkStream server)
    {
        public NetworkStream Client { get; } = client;
        public NetworkStream Server { get; } = server;
        public int PendingOneByteAnswers;
        public volatile bool Swallowing;
    }
}
