using Dsql.Local.Backend;
using Npgsql;

namespace EFCore.Dsql.Scenarios;

/// <summary>
/// A throw-away PostgreSQL server (never an emulator's backend) that trusts loopback TCP logins, for code that reaches
/// plain PostgreSQL through <c>UseAuroraDsql</c>: its password is an IAM token PostgreSQL cannot check.
/// </summary>
public static class TrustedPostgres
{
    /// <summary>Starts the server and returns it with a loopback TCP connection string (no TLS; any password is accepted).</summary>
    public static async Task<(PostgresInstance Instance, string TcpConnectionString)> StartAsync()
    {
        var instance = await PostgresInstance.StartAsync(new PostgresSettings { ListenOnTcp = true });
        await File.WriteAllTextAsync(Path.Combine(instance.DataDirectory, "pg_hba.conf"), """
            local all all trust
            host all all 127.0.0.1/32 trust

            """);
        await using (var connection = new NpgsqlConnection(instance.ConnectionString))
        {
            await connection.OpenAsync();
            await using var reload = new NpgsqlCommand("SELECT pg_reload_conf()", connection);
            await reload.ExecuteScalarAsync();
        }

        var tcp = new NpgsqlConnectionStringBuilder(instance.ConnectionString) { Host = "127.0.0.1", Port = instance.Port, SslMode = SslMode.Disable };
        return (instance, tcp.ConnectionString);
    }
}
