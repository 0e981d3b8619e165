using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Dsql.Local.Protocol;
using Npgsql;

namespace Dsql.Local.Proxy;

/// <summary>Where the backend PostgreSQL is and how to log in to it (as its service superuser, or as a client's role).</summary>
internal sealed record BackendEndpoint(string Host, int Port, string User, string? Password, string Database)
{
    public static BackendEndpoint FromConnectionString(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.Host) || builder.Host.Contains(','))
        {
            throw new ArgumentException("The backend connection string must name one Host.", nameof(connectionString));
        }

        return new BackendEndpoint(builder.Host, builder.Port, builder.Username ?? "postgres", builder.Password, builder.Database ?? "postgres");
    }
}

/// <summary>An open, authenticated backend session: its streams and the start-up messages to relay to the client.</summary>
internal sealed class BackendSession(Socket socket, Stream stream, MessageReader reader, MessageWriter writer) : IDisposable
{
    public Socket Socket { get; } = socket;

    public Stream Stream { get; } = stream;

    public MessageReader Reader { get; } = reader;

    public MessageWriter Writer { get; } = writer;

    public List<(byte Type, byte[] Payload)> StartupMessages { get; } = [];

    public PgError? Error { get; set; }

    public void Dispose()
    {
        Stream.Dispose();
        Socket.Dispose();
    }
}

/// <summary>
/// Opens raw protocol connections to the backend, logging in as the client's own role: never as a superuser, so nothing
/// the session runs (SET ROLE, set_config, a function body) can reach beyond that role's privileges.
/// </summary>
internal static class BackendConnector
{
    public static async Task<BackendSession> ConnectAsync(
        BackendEndpoint endpoint, IReadOnlyDictionary<string, string> clientParameters, TimeSpan maxTransactionAge,
        CancellationToken cancellationToken)
    {
        var socket = await OpenSocketAsync(endpoint, cancellationToken).ConfigureAwait(false);
        var stream = new NetworkStream(socket, ownsSocket: true);
        var session = new BackendSession(socket, stream, new MessageReader(stream), new MessageWriter(stream));
        try
        {
            var startup = new PayloadBuilder().Int32(ProtocolCodes.ProtocolVersion3);
            foreach (var (name, value) in clientParameters)
            {
                if (name is "user" or "database" or "role" or "default_transaction_isolation" or "replication" or "lock_timeout" or "statement_timeout")
                {
                    continue;
                }

                startup.CString(name).CString(value);
            }

            startup.CString("user").CString(endpoint.User)
                .CString("database").CString(endpoint.Database)
                // DSQL runs every transaction at REPEATABLE READ (snapshot isolation).
                .CString("default_transaction_isolation").CString("repeatable read")
                // DSQL never waits on row locks: a write that would wait is treated as a conflict (see ClientSession).
                .CString("lock_timeout").CString("100ms")
                // No single statement outlives DSQL's transaction age limit (ClientSession answers the timeout as that limit).
                .CString("statement_timeout").CString(((long)Math.Min(maxTransactionAge.TotalMilliseconds, int.MaxValue)).ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Byte(0);
            var packet = startup.ToArray();
            var framed = new byte[packet.Length + 4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(framed, framed.Length);
            packet.CopyTo(framed, 4);
            session.Writer.WriteRaw(framed);
            await session.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);

            ScramClient? scram = null;
            while (true)
            {
                var message = await session.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                switch (message.Type)
                {
                    case ProtocolCodes.Authentication:
                        scram = await AuthenticateAsync(session, endpoint, message.Payload, scram, cancellationToken).ConfigureAwait(false);
                        break;
                    case ProtocolCodes.ErrorResponse:
                        session.Error = PgError.Parse(message.Payload.Span);
                        return session;
                    case ProtocolCodes.ReadyForQuery:
                        session.StartupMessages.Add((message.Type, message.Payload.ToArray()));
                        return session;
                    default:
                        session.StartupMessages.Add((message.Type, message.Payload.ToArray()));
                        break;
                }
            }
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Connects to the backend: its unix socket when the host is a directory (as in libpq and Npgsql), else TCP.</summary>
    public static async Task<Socket> OpenSocketAsync(BackendEndpoint endpoint, CancellationToken cancellationToken)
    {
        Socket socket;
        EndPoint target;
        if (endpoint.Host.StartsWith('/'))
        {
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            target = new UnixDomainSocketEndPoint(Path.Combine(endpoint.Host, ".s.PGSQL." + endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        else
        {
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            target = new DnsEndPoint(endpoint.Host, endpoint.Port);
        }

        try
        {
            await socket.ConnectAsync(target, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<ScramClient?> AuthenticateAsync(
        BackendSession session, BackendEndpoint endpoint, ReadOnlyMemory<byte> payload, ScramClient? scram, CancellationToken cancellationToken)
    {
        var reader = new PayloadReader(payload.Span);
        var code = reader.Int32();
        switch (code)
        {
            case 0: // AuthenticationOk
                return scram;
            case 3: // Cleartext
                session.Writer.Write(ProtocolCodes.Password, b => b.CString(RequirePassword(endpoint)));
                break;
            case 5: // MD5
                var salt = reader.Rest()[..4].ToArray();
                var inner = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(RequirePassword(endpoint) + endpoint.User)));
                var outer = Convert.ToHexStringLower(MD5.HashData([.. Encoding.ASCII.GetBytes(inner), .. salt]));
                session.Writer.Write(ProtocolCodes.Password, b => b.CString("md5" + outer));
                break;
            case 10: // SASL
                scram = new ScramClient(RequirePassword(endpoint));
                var first = Encoding.UTF8.GetBytes(scram.ClientFirstMessage);
                session.Writer.Write(ProtocolCodes.Password, b => b.CString("SCRAM-SHA-256").Int32(first.Length).Bytes(first));
                break;
            case 11: // SASLContinue
                var final = Encoding.UTF8.GetBytes(scram!.ClientFinalMessage(Encoding.UTF8.GetString(reader.Rest())));
                session.Writer.Write(ProtocolCodes.Password, b => b.Bytes(final));
                break;
            case 12: // SASLFinal
                scram!.VerifyServerFinal(Encoding.UTF8.GetString(reader.Rest()));
                return scram;
            default:
                throw new InvalidOperationException($"The backend PostgreSQL asked for authentication method {code}, which Dsql.Local does not support; use trust, password, md5 or scram-sha-256.");
        }

        await session.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        return scram;
    }

    private static string RequirePassword(BackendEndpoint endpoint)
        => endpoint.Password ?? throw new InvalidOperationException("The backend PostgreSQL asks for a password, but the backend connection string has none.");
}
