using Dsql.Npgsql;
using Npgsql;

namespace Dsql.Samples.Connector;

/// <summary>
/// One data source for the application's lifetime: opening a connection rents a pooled physical connection, which
/// keeps the token it logged in with; new physical connections get new tokens, and connections are recycled after
/// 55 minutes, before DSQL closes them at 60.
/// </summary>
public static class DataSourcePool
{
    /// <summary>Runs the example.</summary>
    public static async Task RunAsync(DsqlConnectionOptions options)
    {
        await using var dataSource = DsqlDataSource.Create(options.WithNpgsqlSettings(npgsql =>
        {
            npgsql.MaxPoolSize = 10;
            npgsql.MinPoolSize = 0;
        }));

        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Console.WriteLine($"pool: Maximum Pool Size={settings.MaxPoolSize}, Connection Lifetime={settings.ConnectionLifetime}s, No Reset On Close={settings.NoResetOnClose}");

        var physical = new HashSet<int>();
        for (var i = 0; i < 5; i++)
        {
            await using var connection = await dataSource.OpenConnectionAsync(); // returned to the pool when disposed
            physical.Add(connection.ProcessID);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync();
        }

        Console.WriteLine($"pool: 5 opens, {physical.Count} physical connection(s)");
    }
}
