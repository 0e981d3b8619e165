using EFCore.Dsql.IntegrationTests.EFCore;

namespace EFCore.Dsql.IntegrationTests;

/// <summary>Optimistic concurrency: conflicting commits fail with <c>40001</c>, and retried units of work lose nothing.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ConcurrencyTests(ClusterFixture fixture, StoreFixture store) : IClassFixture<StoreFixture>
{
    [ClusterFact]
    public async Task Second_of_two_conflicting_commits_fails_with_40001()
    {
        await using var table = await fixture.CreateTableAsync("occ_pair", "id bigint PRIMARY KEY, n bigint NOT NULL");
        await fixture.ExecuteAsync($"INSERT INTO {table.Name} VALUES (1, 0)");

        await using var first = await fixture.DataSource.OpenConnectionAsync();
        await using var second = await fixture.DataSource.OpenConnectionAsync();
        await using var firstTransaction = await ClusterFixture.BeginAsync(first);
        await using var secondTransaction = await ClusterFixture.BeginAsync(second);
        await using (var update = new NpgsqlCommand($"UPDATE {table.Name} SET n = n + 1 WHERE id = 1", first, firstTransaction))
        {
            await update.ExecuteNonQueryAsync();
        }

        await using (var update = new NpgsqlCommand($"UPDATE {table.Name} SET n = n + 10 WHERE id = 1", second, secondTransaction))
        {
            await update.ExecuteNonQueryAsync(); // no lock wait: DSQL decides at commit
        }

        await firstTransaction.CommitAsync();
        var conflict = await Assert.ThrowsAsync<PostgresException>(() => secondTransaction.CommitAsync());
        Assert.Equal(PostgresErrorCodes.SerializationFailure, conflict.SqlState);
        Assert.Contains("OC000", conflict.MessageText, StringComparison.Ordinal);
        Assert.Equal(1L, await fixture.ScalarAsync<long>($"SELECT n FROM {table.Name} WHERE id = 1"));
    }

    [ClusterFact]
    public async Task Concurrent_EF_read_modify_write_units_retried_on_conflict_reach_the_exact_count()
    {
        const int workers = 6, incrementsEach = 5;
        var id = Guid.NewGuid();
        await using (var context = store.CreateContext())
        {
            context.Counters.Add(new Counter { Id = id });
            await context.SaveChangesAsync();
        }

        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < incrementsEach; i++)
            {
                await using var context = store.CreateContext(dsql => dsql.EnableRetryOnFailure(40, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(500), null));
                await context.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
                {
                    context.ChangeTracker.Clear();
                    await using var transaction = await context.Database.BeginTransactionAsync();
                    var counter = await context.Counters.SingleAsync(c => c.Id == id);
                    counter.Value++;
                    await context.SaveChangesAsync();
                    await transaction.CommitAsync();
                });
            }
        })));

        await using var check = store.CreateContext();
        Assert.Equal(workers * incrementsEach, (await check.Counters.SingleAsync(c => c.Id == id)).Value);
    }
}
