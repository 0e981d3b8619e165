using Dsql.Local.Backend;

namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>One plain PostgreSQL server, started from the machine's binaries, shared by a test collection.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresInstance? _instance;

    /// <summary>The running server.</summary>
    public PostgresInstance Instance => _instance ?? throw new InvalidOperationException("The PostgreSQL fixture has not started.");

    /// <inheritdoc />
    public async Task InitializeAsync() => (_instance, TcpConnectionString) = await TrustedPostgres.StartAsync();

    /// <summary>A trusted loopback TCP connection string (any password is accepted), without TLS.</summary>
    public string TcpConnectionString { get; private set; } = "";

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
