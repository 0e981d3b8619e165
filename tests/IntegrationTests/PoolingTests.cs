namespace EFCore.Dsql.IntegrationTests;

/// <summary>The connection pool: bounded, concurrent, recycled, and one IAM token per physical connection.</summary>
[Collection(ClusterCollection.Name)]
public sealed class PoolingTests(ClusterFixture fixture)
{
    [ClusterFact]
    public async Task Concurrent_opens_share_a_bounded_pool_with_one_token_per_physical_connection()
    {
        await using var counting = new CountingDataSource(fixture.Target, fixture.Target.Options, b => b.MaxPoolSize = 4);
        var backends = new System.Collections.Concurrent.ConcurrentDictionary<int, byte>();

        await Task.WhenAll(Enumerable.Range(0, 24).Select(async _ =>
        {
            await using var connection = await counting.DataSource.OpenConnectionAsync();
            backends.TryAdd(connection.ProcessID, 0);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            Assert.Equal(1, await command.ExecuteScalarAsync());
        }));

        Assert.InRange(backends.Count, 1, 4);
        Assert.Equal(backends.Count, counting.Tokens);
    }

    [ClusterFact]
    public async Task Reopening_a_pooled_connection_reuses_it_without_a_new_token()
    {
        await using var counting = new CountingDataSource(fixture.Target, fixture.Target.Options);
        var backends = new HashSet<int>();
        for (var i = 0; i < 10; i++)
        {
            await using var connection = await counting.DataSource.OpenConnectionAsync();
            backends.Add(connection.ProcessID);
        }

        Assert.Single(backends);
        Assert.Equal(1, counting.Tokens);
    }

    [ClusterFact]
    public async Task Connection_past_its_lifetime_is_replaced_by_a_new_one_with_a_new_token()
    {
        await using var counting = new CountingDataSource(fixture.Target, fixture.Target.Options.WithConnectionLifetime(TimeSpan.FromSeconds(1)));
        int first;
        await using (var connection = await counting.DataSource.OpenConnectionAsync())
        {
            first = connection.ProcessID;
        }

        await Task.Delay(TimeSpan.FromSeconds(2.5));
        await using (var connection = await counting.DataSource.OpenConnectionAsync())
        {
            Assert.NotEqual(first, connection.ProcessID);
        }

        Assert.Equal(2, counting.Tokens);
    }

    [ClusterFact]
    public async Task Default_pool_settings_are_the_ones_DSQL_needs()
    {
        await using var dataSource = fixture.Target.CreateDataSource();
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Assert.Equal((3300, true, false), (settings.ConnectionLifetime, settings.NoResetOnClose, settings.Enlist));

        // No Reset On Close: returning a connection sends no DISCARD ALL, which DSQL refuses; the next rent works.
        for (var i = 0; i < 3; i++)
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            Assert.Equal(1, await command.ExecuteScalarAsync());
        }
    }

    [ClusterFact]
    public void Synchronous_open_signs_its_token_on_the_synchronous_path()
    {
        using var counting = new SyncDisposable(new CountingDataSource(fixture.Target, fixture.Target.Options));
        using (var connection = counting.Inner.DataSource.OpenConnection())
        using (var command = new NpgsqlCommand("SELECT current_user", connection))
        {
            Assert.Equal("admin", command.ExecuteScalar());
        }

        Assert.Equal((1, 0), (counting.Inner.SyncTokens, counting.Inner.AsyncTokens));
    }

    [ClusterFact]
    public async Task Asynchronous_open_signs_its_token_on_the_asynchronous_path()
    {
        await using var counting = new CountingDataSource(fixture.Target, fixture.Target.Options);
        await using (var connection = await counting.DataSource.OpenConnectionAsync())
        await using (var command = new NpgsqlCommand("SELECT current_user", connection))
        {
            Assert.Equal("admin", await command.ExecuteScalarAsync());
        }

        Assert.Equal((0, 1), (counting.SyncTokens, counting.AsyncTokens));
    }

    private sealed class SyncDisposable(CountingDataSource inner) : IDisposable
    {
        public CountingDataSource Inner => inner;

        public void Dispose() => inner.DataSource.Dispose();
    }
}
