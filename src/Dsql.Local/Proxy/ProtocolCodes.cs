namespace Dsql.Local.Proxy;

/// <summary>Start-up request codes and message type bytes of the PostgreSQL v3 protocol.</summary>
internal static class ProtocolCodes
{
    public const int ProtocolVersion3 = 196608;
    public const int SslRequest = 80877103;
    public const int GssEncRequest = 80877104;
    public const int CancelRequest = 80877102;

    // Frontend.
    public const byte Query = (byte)'Q';
    public const byte Parse = (byte)'P';
    public const byte Bind = (byte)'B';
    public const byte Execute = (byte)'E';
    public const byte Describe = (byte)'D';
    public const byte Close = (byte)'C';
    public const byte Sync = (byte)'S';
    public const byte Flush = (byte)'H';
    public const byte Terminate = (byte)'X';
    public const byte Password = (byte)'p';

    // Backend.
    public const byte Authentication = (byte)'R';
    public const byte ParameterStatus = (byte)'S';
    public const byte BackendKeyData = (byte)'K';
    public const byte ReadyForQuery = (byte)'Z';
    public const byte ErrorResponse = (byte)'E';
    public const byte NoticeResponse = (byte)'N';
    public const byte CommandComplete = (byte)'C';
    public const byte EmptyQueryResponse = (byte)'I';
    public const byte PortalSuspended = (byte)'s';
    public const byte RowDescription = (byte)'T';
    public const byte DataRow = (byte)'D';
}
