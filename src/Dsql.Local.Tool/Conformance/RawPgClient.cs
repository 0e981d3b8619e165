using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Dsql.Local.Protocol;

namespace Dsql.Local.Conformance;

/// <summary>
/// A minimal PostgreSQL protocol client that reports what a driver hides: every command tag and error per statement,
/// over either the simple or the extended query protocol (built on the emulator's own message reader and writer).
/// </summary>
internal sealed class RawPgClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly MessageReader _reader;
    private readonly MessageWriter _writer;

    private RawPgClient(TcpClient tcp, Stream stream)
    {
        _tcp = tcp;
        _stream = stream;
        _reader = new MessageReader(stream);
        _writer = new MessageWriter(stream);
    }

    /// <summary>Connects to a local server (the emulator), trusting whatever certificate it serves.</summary>
    public static Task<RawPgClient> ConnectAsync(string host, int port, string user, string password, bool tls)
        => ConnectAsync(host, port, user, password, "postgres", tls ? new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        } : null, CancellationToken.None);

    /// <summary>Connects and logs in with <paramref name="password"/>; TLS with <paramref name="tls"/> unless it is null.</summary>
    public static async Task<RawPgClient> ConnectAsync(
        string host, int port, string user, string password, string database, SslClientAuthenticationOptions? tls, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(host, port, cancellationToken);
        Stream stream = tcp.GetStream();
        if (tls is not null)
        {
            var request = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(request, 8);
            BinaryPrimitives.WriteInt32BigEndian(request.AsSpan(4), 80877103);
            await stream.WriteAsync(request, cancellationToken);
            var answer = new byte[1];
            await stream.ReadExactlyAsync(answer, cancellationToken);
            if (answer[0] != (byte)'S')
            {
                throw new InvalidOperationException("The server declined TLS.");
            }

            var ssl = new SslStream(stream, false);
            await ssl.AuthenticateAsClientAsync(tls, cancellationToken);
            stream = ssl;
        }

        var client = new RawPgClient(tcp, stream);
        var startup = new PayloadBuilder().Int32(196608).CString("user").CString(user).CString("database").CString(database).Byte(0).ToArray();
        var framed = new byte[startup.Length + 4];
        BinaryPrimitives.WriteInt32BigEndian(framed, framed.Length);
        startup.CopyTo(framed, 4);
        client._writer.WriteRaw(framed);
        await client._writer.FlushAsync();
        while (true)
        {
            var message = await client._reader.ReadAsync(cancellationToken);
            switch ((char)message.Type)
            {
                case 'R' when BinaryPrimitives.ReadInt32BigEndian(message.Payload.Span) == 3:
                    client._writer.Write((byte)'p', b => b.CString(password));
                    await client._writer.FlushAsync();
                    break;
                case 'E':
                    throw new InvalidOperationException("Login failed: " + PgError.Parse(message.Payload.Span));
                case 'Z':
                    return client;
            }
        }
    }

    /// <summary>Runs one statement over the extended protocol (Parse/Bind/Describe/Execute/Sync).</summary>
    public async Task<StepResult> ExecuteExtendedAsync(string sql)
    {
        _writer.Write((byte)'P', b => b.CString("").CString(sql).Int16(0));
        _writer.Write((byte)'B', b => b.CString("").CString("").Int16(0).Int16(0).Int16(0));
        _writer.Write((byte)'D', b => b.Byte((byte)'P').CString(""));
        _writer.Write((byte)'E', b => b.CString("").Int32(0));
        _writer.Write((byte)'S', ReadOnlySpan<byte>.Empty);
        await _writer.FlushAsync();
        var results = await ReadUntilReadyAsync();
        return results.Count == 0 ? new StepResult(null, null, null, [], []) : results[^1];
    }

    /// <summary>Runs a (possibly multi-statement) query over the simple protocol; one result per answered statement.</summary>
    public async Task<List<StepResult>> ExecuteSimpleAsync(string sql)
    {
        _writer.Write((byte)'Q', b => b.CString(sql));
        await _writer.FlushAsync();
        return await ReadUntilReadyAsync();
    }

    private async Task<List<StepResult>> ReadUntilReadyAsync()
    {
        var results = new List<StepResult>();
        List<string> columns = [];
        List<string?[]> rows = [];
        while (true)
        {
            var message = await _reader.ReadAsync(CancellationToken.None);
            switch ((char)message.Type)
            {
                case 'T':
                    columns = ReadColumns(message.Payload.Span);
                    break;
                case 'n':
                    columns = [];
                    break;
                case 'D':
                    rows.Add(ReadRow(message.Payload.Span));
                    break;
                case 'C':
                    results.Add(new StepResult(Encoding.UTF8.GetString(message.Payload.Span).TrimEnd('\0'), null, null, columns, rows));
                    columns = [];
                    rows = [];
                    break;
                case 'I':
                    results.Add(new StepResult("", null, null, [], []));
                    break;
                case 'E':
                    var error = PgError.Parse(message.Payload.Span);
                    results.Add(new StepResult(null, error.SqlState, error.Message, [], []));
                    columns = [];
                    rows = [];
                    break;
                case 'Z':
                    return results;
            }
        }
    }

    private static List<string> ReadColumns(ReadOnlySpan<byte> payload)
    {
        var reader = new PayloadReader(payload);
        var count = reader.Int16();
        var columns = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            columns.Add(reader.CString());
            reader.Int32();
            reader.Int16();
            reader.Int32();
            reader.Int16();
            reader.Int32();
            reader.Int16();
        }

        return columns;
    }

    private static string?[] ReadRow(ReadOnlySpan<byte> payload)
    {
        var values = new string?[BinaryPrimitives.ReadInt16BigEndian(payload)];
        var position = 2;
        for (var i = 0; i < values.Length; i++)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(payload[position..]);
            position += 4;
            if (length >= 0)
            {
                values[i] = Encoding.UTF8.GetString(payload.Slice(position, length));
                position += length;
            }
        }

        return values;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _writer.Write((byte)'X', ReadOnlySpan<byte>.Empty);
            await _writer.FlushAsync();
        }
        catch (IOException)
        {
        }

        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}

/// <summary>One statement's answer: a command tag (with the column names and text rows), or an error's SQLSTATE and message.</summary>
internal sealed record StepResult(string? CommandTag, string? SqlState, string? Message, List<string> Columns, List<string?[]> Rows)
{
    public bool IsError => SqlState is not null;

    public override string ToString() => IsError ? $"error {SqlState} \"{Message}\"" : $"ok \"{CommandTag}\"";
}
