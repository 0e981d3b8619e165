namespace Dsql.Local.Backend;

/// <summary>How a <see cref="PostgresInstance"/> is started.</summary>
internal sealed class PostgresSettings
{
    /// <summary>Where to keep the data; a temporary directory, deleted on dispose, when <see langword="null"/>.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>
    /// Also listen on loopback TCP, with a password generated at each start (<see cref="PostgresInstance.TcpConnectionString"/>).
    /// Off by default: the private unix socket is the only way in.
    /// </summary>
    public bool ListenOnTcp { get; init; }

    /// <summary>Run with <c>fsync</c>, <c>synchronous_commit</c> and <c>full_page_writes</c> on, so acknowledged commits survive a crash.</summary>
    public bool Durable { get; init; }

    /// <summary>The server's <c>max_connections</c>.</summary>
    public int MaxConnections { get; init; } = 400;
}
