using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace EFCore.Dsql.IntegrationTests.EFCore;

/// <summary>Creates the store's tables in the run's schema for a test class, and drops them after it.</summary>
public sealed class StoreFixture : IAsyncLifetime
{
    private NpgsqlDataSource? _dataSource;

    /// <summary>Admin connections through the target (tunnel included).</summary>
    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("Not initialized.");

    /// <summary>A new context.</summary>
    public StoreContext CreateContext(Action<DsqlDbContextOptionsBuilder>? dsql = null) => new(StoreContext.Options(DataSource, dsql));

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _dataSource = ClusterTarget.Current.CreateDataSource();
        await using var context = CreateContext();
        // Not EnsureCreated: on a shared cluster other tables exist, and EnsureCreated would then create nothing.
        await context.GetService<IRelationalDatabaseCreator>().CreateTablesAsync();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_dataSource is null)
        {
            return;
        }

        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync();
            foreach (var table in (string[])["store_orders", "store_customers", "store_counters"])
            {
                await using var command = new NpgsqlCommand($"DROP TABLE IF EXISTS {ClusterFixture.Schema}.{table}", connection);
                await command.ExecuteNonQueryAsync();
            }
        }
        finally
        {
            await _dataSource.DisposeAsync();
        }
    }
}
