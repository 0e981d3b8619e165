using Npgsql;

namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>One-line statements for tests: run a statement, or read its single value.</summary>
internal static class SqlCommands
{
    /// <summary>Runs <paramref name="sql"/> and discards what it returns.</summary>
    public static async Task RunAsync(this NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The first column of the first row <paramref name="sql"/> returns.</summary>
    public static async Task<object?> ScalarAsync(this NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
