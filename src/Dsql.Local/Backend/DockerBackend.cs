using Testcontainers.PostgreSql;

namespace Dsql.Local.Backend;

/// <summary>A PostgreSQL 16 backend in a Docker container (Testcontainers), for machines without local PostgreSQL binaries.</summary>
internal sealed class DockerBackend : IAsyncDisposable
{
    private readonly PostgreSqlContainer _container;

    private DockerBackend(PostgreSqlContainer container) => _container = container;

    public string ConnectionString => _container.GetConnectionString();

    public static async Task<DockerBackend> StartAsync(CancellationToken cancellationToken)
    {
        var container = new PostgreSqlBuilder("postgres:16")
            .WithCommand("-c", "default_transaction_isolation=repeatable read", "-c", "max_connections=400")
            .Build();
        try
        {
            await container.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await container.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"Starting a PostgreSQL container failed ({e.Message}). Is Docker running? Without Docker, omit --backend docker to use local PostgreSQL binaries.", e);
        }

        return new DockerBackend(container);
    }

    public ValueTask DisposeAsync() => _container.DisposeAsync();
}
