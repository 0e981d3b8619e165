using System.Data;
using Dsql.Npgsql;
using Npgsql;

namespace Dsql.Samples.Connector;

/// <summary>The same work asynchronously, with a transaction: DSQL runs every transaction at <c>REPEATABLE READ</c>.</summary>
public static class AsyncConnection
{
    /// <summary>Runs the example.</summary>
    public static async Task RunAsync(DsqlConnectionOptions options)
    {
        await using var dataSource = DsqlDataSource.Create(options);
        await using var connection = await dataSource.OpenConnectionAsync(); // the token is signed on the async path too

        await ExecuteAsync(connection, "CREATE TABLE IF NOT EXISTS connector_visits (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), pet varchar(30) NOT NULL, visited date NOT NULL)");
        try
        {
            // BeginTransaction() without a level asks for READ COMMITTED, which DSQL refuses: name REPEATABLE READ.
            await using (var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead))
            {
                await using var insert = new NpgsqlCommand("INSERT INTO connector_visits (pet, visited) VALUES ('Rex', $1), ('Tom', $1)", connection, transaction);
                insert.Parameters.Add(new NpgsqlParameter { Value = new DateOnly(2026, 1, 15) });
                await insert.ExecuteNonQueryAsync();
                await transaction.CommitAsync();
            }

            await using var count = new NpgsqlCommand("SELECT count(*) FROM connector_visits", connection);
            Console.WriteLine($"async: {await count.ExecuteScalarAsync()} visits committed in one transaction");
        }
        finally
        {
            await ExecuteAsync(connection, "DROP TABLE IF EXISTS connector_visits");
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
