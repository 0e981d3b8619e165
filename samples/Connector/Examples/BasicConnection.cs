using Dsql.Npgsql;
using Npgsql;

namespace Dsql.Samples.Connector;

/// <summary>A connection opened synchronously: create a table, write a row, read it back, clean up.</summary>
public static class BasicConnection
{
    /// <summary>Runs the example.</summary>
    public static void Run(DsqlConnectionOptions options)
    {
        // The data source signs a fresh IAM token for each physical connection it opens; dispose it with the application.
        using var dataSource = DsqlDataSource.Create(options);
        using var connection = dataSource.OpenConnection();

        // DSQL runs each DDL statement in a transaction of its own: autocommit statements, one at a time.
        Execute(connection, "CREATE TABLE IF NOT EXISTS connector_owners (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name varchar(30) NOT NULL, city varchar(80) NOT NULL)");
        try
        {
            using (var insert = new NpgsqlCommand("INSERT INTO connector_owners (name, city) VALUES ($1, $2)", connection))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = "John Doe" });
                insert.Parameters.Add(new NpgsqlParameter { Value = "Anytown" });
                insert.ExecuteNonQuery();
            }

            using var select = new NpgsqlCommand("SELECT name, city FROM connector_owners WHERE name = 'John Doe'", connection);
            using var reader = select.ExecuteReader();
            while (reader.Read())
            {
                Console.WriteLine($"basic: read back {reader.GetString(0)} of {reader.GetString(1)} as {connection.UserName}");
            }
        }
        finally
        {
            Execute(connection, "DROP TABLE IF EXISTS connector_owners");
        }
    }

    private static void Execute(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
