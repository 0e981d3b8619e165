namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>Connections to an emulator a test starts for itself.</summary>
public static class DsqlLocalServerExtensions
{
    /// <summary>
    /// A connection string for <c>admin</c> with a valid token and no pooling: each connection is its own session, so a
    /// test that ends or breaks sessions sees exactly the one it opened.
    /// </summary>
    public static string UnpooledConnectionString(this DsqlLocalServer server)
        => new NpgsqlConnectionStringBuilder(server.GetConnectionString()) { Pooling = false }.ConnectionString;

    /// <summary>Opens an unpooled connection as <c>admin</c> (<see cref="UnpooledConnectionString"/>).</summary>
    public static async Task<NpgsqlConnection> OpenUnpooledAsync(this DsqlLocalServer server)
    {
        var connection = new NpgsqlConnection(server.UnpooledConnectionString());
        await connection.OpenAsync();
        return connection;
    }
}
