namespace EFCore.Dsql.IntegrationTests;

/// <summary>What a test creates on the cluster is removed even when the test fails.</summary>
[Collection(ClusterCollection.Name)]
public sealed class CleanupTests(ClusterFixture fixture)
{
    [ClusterFact]
    public async Task Scratch_table_is_dropped_when_the_test_body_throws()
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using var table = await fixture.CreateTableAsync("cleanup_failed", "id bigint PRIMARY KEY");
            await fixture.ExecuteAsync($"INSERT INTO {table.Name} VALUES (1)");
            Assert.True(await fixture.TableExistsAsync(ClusterFixture.Schema, "cleanup_failed"));
            throw new InvalidOperationException("the test failed here");
        });

        Assert.Equal("the test failed here", failure.Message);
        Assert.False(await fixture.TableExistsAsync(ClusterFixture.Schema, "cleanup_failed"));
    }

    [ClusterFact]
    public async Task Schema_drop_removes_its_tables_even_those_referenced_by_foreign_keys()
    {
        var schema = ClusterFixture.UniqueName("it_cleanup_");
        try
        {
            await fixture.ExecuteAsync($"CREATE SCHEMA {schema}");
            await fixture.ExecuteAsync($"CREATE TABLE {schema}.parent (id bigint PRIMARY KEY)");
            await fixture.ExecuteAsync($"CREATE TABLE {schema}.child (id bigint PRIMARY KEY, parent_id bigint REFERENCES {schema}.parent (id))");
            await fixture.ExecuteAsync($"INSERT INTO {schema}.parent VALUES (1)");
        }
        finally
        {
            await fixture.DropSchemaAsync(schema);
        }

        Assert.Equal(0L, await fixture.ScalarAsync<long>("SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema));
    }
}
