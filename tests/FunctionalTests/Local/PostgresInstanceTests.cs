using Dsql.Local.Backend;

namespace EFCore.Dsql.FunctionalTests.Local;

public class PostgresInstanceTests
{
    [Fact]
    public async Task Started_server_accepts_queries_and_is_gone_after_dispose()
    {
        var instance = await PostgresInstance.StartAsync();
        var dataDirectory = instance.DataDirectory;
        await using (var connection = new NpgsqlConnection(instance.ConnectionString + ";Pooling=false"))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT 40 + 2", connection);
            Assert.Equal(42, await command.ExecuteScalarAsync());
        }

        await instance.DisposeAsync();

        Assert.False(Directory.Exists(dataDirectory));
        await using var after = new NpgsqlConnection(instance.ConnectionString + ";Pooling=false;Timeout=2");
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => after.OpenAsync());
    }
}
