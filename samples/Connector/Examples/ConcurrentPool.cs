using Dsql.Npgsql;
using Npgsql;

namespace Dsql.Samples.Connector;

/// <summary>Many tasks share one data source; the pool bounds the physical connections and queues the rest.</summary>
public static class ConcurrentPool
{
    /// <summary>Runs the example.</summary>
    public static async Task RunAsync(DsqlConnectionOptions options)
    {
        const int tasks = 8;
        await using var dataSource = DsqlDataSource.Create(options.WithNpgsqlSettings(npgsql => npgsql.MaxPoolSize = 3));

        var results = await Task.WhenAll(Enumerable.Range(1, tasks).Select(async n =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var command = new NpgsqlCommand("SELECT $1 * $1", connection);
            command.Parameters.Add(new NpgsqlParameter { Value = n });
            return (int)(await command.ExecuteScalarAsync())!;
        }));

        Console.WriteLine($"concurrent: {tasks} tasks over at most 3 connections computed {string.Join(", ", results)}");
    }
}
