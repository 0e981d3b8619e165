using Dsql.Npgsql;
using Npgsql;

namespace Dsql.Samples.Connector;

/// <summary>
/// One connection in one line, for scripts and tools: <c>DsqlConnection.OpenAsync</c> keeps one pool per distinct
/// options for the process, so calling it again does not log in again.
/// </summary>
public static class SingleConnection
{
    /// <summary>Runs the example.</summary>
    public static async Task RunAsync(DsqlConnectionOptions options)
    {
        await using var connection = await DsqlConnection.OpenAsync(options);
        await using var command = new NpgsqlCommand("SELECT current_user, current_setting('server_version')", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        Console.WriteLine($"single: connected as {reader.GetString(0)} to PostgreSQL {reader.GetString(1)}");
    }
}
