using Npgsql;
using Dsql.Local.Backend;

namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>One plain PostgreSQL server, started from the machine's binaries, shared by a test collection.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresInstance? _instance;

    /// <summary>The running server.</summary>
    public PostgresInstance Instance => _instance ?? throw new InvalidOperationException("The PostgreSQL fixture has not started.");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _instance = await PostgresInstance.StartAsync(new PostgresSettings { ListenOnTcp = true });

        // These tests reach plain PostgreSQL through UseAuroraDsql, whose password is an IAM token PostgreSQL cannot
        // check: this throw-away server (never the emulator's backend) trusts loopback TCP logins.
        await File.WriteAllTextAsync(Path.Combine(_instance.DataDirectory, "pg_hba.conf"), """
            local all all trust
            host all all 127.0.0.1/32 trust

            """);
        await using var connection = new NpgsqlConnection(_instance.ConnectionString);
        await connection.OpenAsync();
        await using var reload = new NpgsqlCommand("SELECT pg_reload_conf()", connection);
        await reload.ExecuteScalarAsync();
    }

    /// <summary>A trusted loopback TCP connection string (any password is accepted).</summary>
    public string TcpConnectionString
        => new NpgsqlConnectionStringBuilder(Instance.ConnectionString) { Host = "127.0.0.1", Port = Instance.Port }.ConnectionString;

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_instance is not null)
        {
            await _instance.DisposeAsync();
        }
    }
}

/// <summary>Tests that share one plain PostgreSQL server.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "PostgreSQL";
}
