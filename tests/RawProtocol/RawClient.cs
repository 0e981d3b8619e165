using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using Dsql.Local.Protocol;

namespace EFCore.Dsql.TestUtilities;

/// <summary>
/// A client speaking PostgreSQL's raw protocol, for what Npgsql would never send (the hardening tests) and for the attacks
/// the RSS benchmark mounts. Shared as source by the functional tests and the benchmarks; nothing in <c>src</c> uses it.
/// </summary>
internal sealed class RawClient(Stream stream) : IAsyncDisposable
{
    public Stream Stream { get; } = stream;

    public MessageReader Reader { get; } = new(stream);

    public MessageWriter Writer { get; } = new(stream);

    public static async Task<RawClient> ConnectAsync(int port, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync("127.0.0.1", port, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new RawClient(new NetworkStream(socket, ownsSocket: true));
    }

    /// <summary>Connects, asks for TLS and completes the handshake (any server certificate accepted).</summary>
    public static async Task<RawClient> ConnectTlsAsync(int port, CancellationToken cancellationToken = default)
    {
        var plain = await ConnectAsync(port, cancellationToken);
        try
        {
            await plain.SendSslRequestAsync();
            var answer = new byte[1];
            await plain.Stream.ReadExactlyAsync(answer, cancellationToken);
            if (answer[0] != (byte)'S')
            {
                throw new InvalidDataException($"The server declined TLS (answered '{(char)answer[0]}').");
            }

            var tls = new SslStream(plain.Stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, cancellationToken);
            return new RawClient(tls);
        }
        catch
        {
            await plain.DisposeAsync();
            throw;
        }
    }

    public async Task SendStartupAsync(string user)
    {
        var packet = new PayloadBuilder().Int32(196608).CString("user").CString(user).CString("database").CString("postgres").Byte(0).ToArray();
        var framed = new byte[packet.Length + 4];
        BinaryPrimitives.WriteInt32BigEndian(framed, framed.Length);
        packet.CopyTo(framed, 4);
        await Stream.WriteAsync(framed);
    }

    /// <summary>Logs in with <paramref name="password"/> and reads up to the first ReadyForQuery.</summary>
    public async Task LoginAsync(string user, string password)
    {
        await SendStartupAsync(user);
        await ExpectAsync((byte)'R');
        Writer.Write((byte)'p', b => b.CString(password));
        await Writer.FlushAsync();
        while ((await ReadAsync()).Type != (byte)'Z')
        {
        }
    }

    public async Task SendSslRequestAsync()
    {
        var request = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(request, 8);
        BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(4), 80877103);
        await Stream.WriteAsync(request);
        await Stream.FlushAsync();
    }

    /// <summary>Sends the header of a message claiming <paramref name="length"/> bytes, and none of its body.</summary>
    public async Task SendHeaderAsync(byte type, int length)
    {
        var header = new byte[5];
        header[0] = type;
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), length);
        await Stream.WriteAsync(header);
        await Stream.FlushAsync();
    }

    public async Task<(byte Type, byte[] Payload)> ReadAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var message = await Reader.ReadAsync(timeout.Token);
        return (message.Type, message.Payload.ToArray());
    }

    /// <summary>Reads one message, which must be of <paramref name="type"/>.</summary>
    public async Task<byte[]> ExpectAsync(byte type)
    {
        var (actual, payload) = await ReadAsync();
        if (actual != type)
        {
            var detail = actual == (byte)'E' ? ": " + PgError.Parse(payload) : "";
            throw new InvalidDataException($"Expected message '{(char)type}', got '{(char)actual}'{detail}.");
        }

        return payload;
    }

    public async Task<PgError> ReadErrorAsync() => PgError.Parse(await ExpectAsync((byte)'E'));

    public ValueTask DisposeAsync() => Stream.DisposeAsync();
}
