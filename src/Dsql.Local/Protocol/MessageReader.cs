using System.Buffers.Binary;

namespace Dsql.Local.Protocol;

/// <summary>
/// Reads PostgreSQL v3 protocol messages from a stream into one reusable buffer. A returned message's payload stays valid
/// until the next read. Before it blocks on the socket the reader calls <see cref="BeforeBlockingRead"/>, so the peer
/// pump can flush what it batched: pipelined messages are relayed in one write, single ones without delay.
/// </summary>
internal sealed class MessageReader
{
    /// <summary>PostgreSQL's own limit for a message after login (<c>PQ_LARGE_MESSAGE_LIMIT</c>, 1 GiB).</summary>
    public const int DefaultMaxMessageLength = (1 << 30) - 1;

    /// <summary>PostgreSQL's limit for a start-up packet (<c>MAX_STARTUP_PACKET_LENGTH</c>).</summary>
    private const int MaxStartupPacketLength = 10_000;

    private readonly Stream _stream;
    private byte[] _buffer = new byte[16 * 1024];
    private int _start;
    private int _end;

    public MessageReader(Stream stream) => _stream = stream;

    /// <summary>The largest message length accepted; a longer claim fails before anything is allocated for it.</summary>
    public int MaxMessageLength { get; set; } = DefaultMaxMessageLength;

    /// <summary>Called before a read that may block (nothing is buffered).</summary>
    public Func<ValueTask>? BeforeBlockingRead { get; set; }

    /// <summary>The buffer's size: what this reader holds in memory (it grows only to the largest message).</summary>
    public int Capacity => _buffer.Length;

    /// <summary>Whether bytes are already buffered, i.e. the next message may arrive without waiting.</summary>
    public bool HasBufferedData => _end > _start;

    /// <summary>Reads one typed message (type byte + length + payload).</summary>
    public async ValueTask<PgMessage> ReadAsync(CancellationToken cancellationToken)
    {
        await EnsureAsync(5, cancellationToken).ConfigureAwait(false);
        var type = _buffer[_start];
        var length = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(_start + 1));
        if (length < 4 || length > MaxMessageLength)
        {
            throw new InvalidDataException($"invalid message length {length} for message type '{(char)type}' (at most {MaxMessageLength} here)");
        }

        await EnsureAsync(1 + length, cancellationToken).ConfigureAwait(false);
        var message = new PgMessage(type, _buffer.AsMemory(_start + 5, length - 4));
        _start += 1 + length;
        return message;
    }

    /// <summary>Reads one untyped start-up packet (length + payload), as sent before the session starts.</summary>
    public async ValueTask<ReadOnlyMemory<byte>> ReadStartupPacketAsync(CancellationToken cancellationToken)
    {
        await EnsureAsync(4, cancellationToken).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(_start));
        if (length < 8 || length > MaxStartupPacketLength)
        {
            throw new InvalidDataException($"Invalid start-up packet length {length}.");
        }

        await EnsureAsync(length, cancellationToken).ConfigureAwait(false);
        var packet = _buffer.AsMemory(_start + 4, length - 4);
        _start += length;
        return packet;
    }

    private async ValueTask EnsureAsync(int count, CancellationToken cancellationToken)
    {
        if (_end - _start >= count)
        {
            return;
        }

        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_buffer.Length < count)
        {
            Array.Resize(ref _buffer, (int)Math.Min(Array.MaxLength, Math.Max(count, (long)_buffer.Length * 2)));
        }

        while (_end < count)
        {
            if (_end == 0 && BeforeBlockingRead is { } flush)
            {
                await flush().ConfigureAwait(false);
            }

            var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new EndOfStreamException("The peer closed the connection.");
            }

            _end += read;
        }
    }
}

/// <summary>One protocol message: its type byte and its payload (without the length).</summary>
internal readonly record struct PgMessage(byte Type, ReadOnlyMemory<byte> Payload);
