namespace EFCore.Dsql.IntegrationTests;

/// <summary><c>DsqlRetry</c>: ADO.NET units of work retried as a whole on conflicts, on both paths, and failures that are not retried.</summary>
[Collection(ClusterCollection.Name)]
public sealed class DsqlRetryTests(ClusterFixture fixture)
{
    [ClusterFact]
    public async Task Concurrent_units_retried_by_DsqlRetry_reach_the_exact_count()
    {
        const int workers = 6, incrementsEach = 5;
        await using var table = await fixture.CreateTableAsync("retry_counter", "id bigint PRIMARY KEY, n bigint NOT NULL");
        await fixture.ExecuteAsync($"INSERT INTO {table.Name} VALUES (1, 0)");
        var attempts = 0;

        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < incrementsEach; i++)
            {
                // Read, then write what was read plus one: a lost update unless a conflicting commit is retried as a whole.
                await DsqlRetry.ExecuteAsync(fixture.DataSource, async (connection, ct) =>
                {
                    Interlocked.Increment(ref attempts);
                    await using var read = new NpgsqlCommand($"SELECT n FROM {table.Name} WHERE id = 1", connection);
                    var n = (long)(await read.ExecuteScalarAsync(ct))!;
                    await using var write = ClusterFixture.Command(connection, $"UPDATE {table.Name} SET n = $1 WHERE id = 1", n + 1);
                    await write.ExecuteNonQueryAsync(ct);
                });
            }
        })));

        Assert.Equal(workers * incrementsEach, await fixture.ScalarAsync<long>($"SELECT n FROM {table.Name} WHERE id = 1"));
        Assert.True(attempts >= workers * incrementsEach);
    }

    [ClusterFact]
    public void Synchronous_unit_commits_and_returns_its_result()
    {
        var table = fixture.CreateTableAsync("retry_sync", "id bigint PRIMARY KEY, name text NOT NULL").GetAwaiter().GetResult();
        try
        {
            var inserted = DsqlRetry.Execute(fixture.DataSource, connection =>
            {
                using var insert = new NpgsqlCommand($"INSERT INTO {table.Name} VALUES (1, 'one'), (2, 'two')", connection);
                return insert.ExecuteNonQuery();
            });

            Assert.Equal(2, inserted);
            Assert.Equal(2L, fixture.ScalarAsync<long>($"SELECT count(*) FROM {table.Name}").GetAwaiter().GetResult());
        }
        finally
        {
            table.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    [ClusterFact]
    public async Task Unit_that_fails_is_rolled_back_and_a_constraint_violation_is_not_retried()
    {
        await using var table = await fixture.CreateTableAsync("retry_permanent", "id bigint PRIMARY KEY");
        await fixture.ExecuteAsync($"INSERT INTO {table.Name} VALUES (1)");
        var attempts = 0;

        var error = await Assert.ThrowsAsync<PostgresException>(() => DsqlRetry.ExecuteAsync(fixture.DataSource, async (connection, ct) =>
        {
            Interlocked.Increment(ref attempts);
            await using var first = new NpgsqlCommand($"INSERT INTO {table.Name} VALUES (2)", connection);
            await first.ExecuteNonQueryAsync(ct);
            await using var duplicate = new NpgsqlCommand($"INSERT INTO {table.Name} VALUES (1)", connection);
            await duplicate.ExecuteNonQueryAsync(ct);
        }));

        Assert.Equal(PostgresErrorCodes.UniqueViolation, error.SqlState);
        Assert.Equal(1, attempts);
        Assert.Equal(1L, await fixture.ScalarAsync<long>($"SELECT count(*) FROM {table.Name}"));
    }
}
