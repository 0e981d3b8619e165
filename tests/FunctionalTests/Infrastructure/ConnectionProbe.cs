namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>Watches an open connection for the server ending it.</summary>
public static class ConnectionProbe
{
    /// <summary>
    /// Runs <c>SELECT 1</c> on <paramref name="connection"/> every 100 ms until it fails, and returns that failure (the
    /// server's FATAL error, or the closed connection's); <see langword="null"/> if it still works after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<Exception?> FirstFailureAsync(NpgsqlConnection connection, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync();
                await Task.Delay(100);
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                return e;
            }
        }

        return null;
    }
}
