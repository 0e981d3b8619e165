using System.Buffers.Binary;

namespace Dsql.Local.Protocol;

/// <summary>Reads fields of a message payload in order.</summary>
internal ref struct PayloadReader
{
    private readonly ReadOnlySpan<byte> _payload;

    public PayloadReader(ReadOnlySpan<byte> payload)
    {
        _payload = payload;
        Position = 0;
    }

    public int Position { get; private set; }

    public readonly bool AtEnd => Position >= _payload.Length;

    public int Int32()
    {
        var value = BinaryPrimitives.ReadInt32BigEndian(_payload[Position..]);
        Position += 4;
        return value;
    }

    public short Int16()
    {
        var value = BinaryPrimitives.ReadInt16BigEndian(_payload[Position..]);
        Position += 2;
        return value;
    }

    public byte Byte() => _payload[Position++];

    public string CString()
    {
        var rest = _payload[Position..];
        var end = rest.IndexOf((byte)0);
        if (end < 0)
        {
            throw new InvalidDataException("A protocol string is not NUL-terminated.");
        }

        Position += end + 1;
        return Encoding.UTF8.GetString(rest[..end]);
    }

    public ReadOnlySpan<byte> Rest() => _payload[Position..];
}
