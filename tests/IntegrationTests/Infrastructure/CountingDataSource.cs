namespace EFCore.Dsql.IntegrationTests.Infrastructure;

/// <summary>
/// A data source built as <see cref="DsqlDataSource"/> builds it, whose password provider counts the tokens it hands
/// out (the connector's own provider signs them), by path: Npgsql asks for one per physical connection it opens.
/// </summary>
public sealed class CountingDataSource : IAsyncDisposable
{
    private int _sync;
    private int _async;

    /// <summary>Builds the data source for <paramref name="options"/>, with <paramref name="configure"/> applied to its settings.</summary>
    public CountingDataSource(ClusterTarget target, DsqlConnectionOptions options, Action<NpgsqlConnectionStringBuilder>? configure = null)
    {
        var provider = new DsqlAuthTokenProvider(options);
        var builder = target.CreateBuilder(options);
        configure?.Invoke(builder.ConnectionStringBuilder);
        builder.UsePasswordProvider(
            _ =>
            {
                Interlocked.Increment(ref _sync);
                return provider.GenerateToken();
            },
            async (_, cancellationToken) =>
            {
                Interlocked.Increment(ref _async);
                return await provider.GenerateTokenAsync(cancellationToken);
            });
        DataSource = builder.Build();
    }

    /// <summary>The data source.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>Tokens generated on the synchronous path.</summary>
    public int SyncTokens => Volatile.Read(ref _sync);

    /// <summary>Tokens generated on the asynchronous path.</summary>
    public int AsyncTokens => Volatile.Read(ref _async);

    /// <summary>All tokens generated.</summary>
    public int Tokens => SyncTokens + AsyncTokens;

    /// <inheritdoc />
    public ValueTask DisposeAsync() => DataSource.DisposeAsync();
}
