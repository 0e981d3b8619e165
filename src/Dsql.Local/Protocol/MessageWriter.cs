using System.Buffers.Binary;

namespace Dsql.Local.Protocol;

/// <summary>Batches outgoing protocol messages in memory and writes them to the stream on <see cref="FlushAsync"/>.</summary>
internal sealed class MessageWriter
{
    private readonly Stream _stream;
    private byte[] _buffer = new byte[16 * 1024];
    private int _length;

    public MessageWriter(Stream stream) => _stream = stream;

    /// <summary>
    /// How much a relay batches before it flushes, whatever is still to come: the bound on what one direction of a
    /// session buffers (plus one message).
    /// </summary>
    public const int BatchBytes = 64 * 1024;

    public bool HasPendingData => _length > 0;

    /// <summary>The bytes batched and not yet written.</summary>
    public int PendingBytes => _length;

    /// <summary>The buffer's size: what this writer holds in memory.</summary>
    public int Capacity => _buffer.Length;

    /// <summary>Appends a typed message.</summary>
    public void Write(byte type, ReadOnlySpan<byte> payload)
    {
        var span = Reserve(5 + payload.Length);
        span[0] = type;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], payload.Length + 4);
        payload.CopyTo(span[5..]);
    }

    /// <summary>Appends a typed message built by <paramref name="build"/>.</summary>
    public void Write(byte type, Action<PayloadBuilder> build)
    {
        var builder = new PayloadBuilder();
        build(builder);
        Write(type, builder.AsSpan());
    }

    /// <summary>Appends raw bytes (an untyped start-up packet, a one-byte SSL answer).</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_length == 0)
        {
            return;
        }

        var length = _length;
        _length = 0;
        await _stream.WriteAsync(_buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private Span<byte> Reserve(int count)
    {
        if (_buffer.Length - _length < count)
        {
            // Grown in long arithmetic: doubling a buffer past 1 GiB must not overflow into a negative size.
            var needed = (long)_length + count;
            if (needed > Array.MaxLength)
            {
                throw new InvalidDataException($"A protocol batch of {needed} bytes is larger than a buffer can hold.");
            }

            Array.Resize(ref _buffer, (int)Math.Min(Array.MaxLength, Math.Max((long)_buffer.Length * 2, needed)));
        }

        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }
}

/// <summary>Builds a message payload: big-endian integers and NUL-terminated UTF-8 strings.</summary>
internal sealed class PayloadBuilder
{
    private readonly MemoryStream _stream = new();

    public PayloadBuilder Int32(int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        _stream.Write(bytes);
        return this;
    }

    public PayloadBuilder Int16(short value)
    {
        Span<byte> bytes = stackalloc byte[2];
        BinaryPrimitives.WriteInt16BigEndian(bytes, value);
        _stream.Write(bytes);
        return this;
    }

    public PayloadBuilder Byte(byte value)
    {
        _stream.WriteByte(value);
        return this;
    }

    public PayloadBuilder CString(string value)
    {
        _stream.Write(Encoding.UTF8.GetBytes(value));
        _stream.WriteByte(0);
        return this;
    }

    public PayloadBuilder Bytes(ReadOnlySpan<byte> value)
    {
        _stream.Write(value);
        return this;
    }

    public ReadOnlySpan<byte> AsSpan() => _stream.GetBuffer().AsSpan(0, (int)_stream.Length);

    public byte[] ToArray() => _stream.ToArray();
}
