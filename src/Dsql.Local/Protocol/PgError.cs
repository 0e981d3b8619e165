namespace Dsql.Local.Protocol;

/// <summary>An error or notice as the protocol carries it: field code → value.</summary>
internal sealed class PgError
{
    public PgError(string severity, string sqlState, string message)
    {
        Fields['S'] = severity;
        Fields['V'] = severity;
        Fields['C'] = sqlState;
        Fields['M'] = message;
    }

    private PgError()
    {
    }

    /// <summary>The fields in their wire order.</summary>
    public Dictionary<char, string> Fields { get; } = [];

    public string SqlState => Fields.GetValueOrDefault('C', "");

    public string Message => Fields.GetValueOrDefault('M', "");

    public static PgError Parse(ReadOnlySpan<byte> payload)
    {
        var error = new PgError();
        var reader = new PayloadReader(payload);
        while (!reader.AtEnd)
        {
            var code = reader.Byte();
            if (code == 0)
            {
                break;
            }

            error.Fields[(char)code] = reader.CString();
        }

        return error;
    }

    public byte[] ToPayload()
    {
        var builder = new PayloadBuilder();
        foreach (var (code, value) in Fields)
        {
            builder.Byte((byte)code).CString(value);
        }

        builder.Byte(0);
        return builder.ToArray();
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(Fields.GetValueOrDefault('S', "ERROR")).Append(' ').Append(SqlState).Append(": ").Append(Message);
        return text.ToString();
    }
}
