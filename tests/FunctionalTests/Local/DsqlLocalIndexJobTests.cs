using static EFCore.Dsql.FunctionalTests.Local.DsqlLocalTransactionTests;

namespace EFCore.Dsql.FunctionalTests.Local;

[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlLocalIndexJobTests(DsqlLocalFixture fixture)
{
    [Fact]
    public async Task Create_index_async_answers_a_job_id_and_the_index_is_usable_once_the_job_completes()
    {
        await fixture.ExecuteOnBackendAsync("DROP TABLE IF EXISTS job_items; CREATE TABLE job_items (id int PRIMARY KEY, sku bigint)");
        await using var connection = await fixture.OpenConnectionAsync();
        var jobId = (string)(await Scalar(connection, "CREATE UNIQUE INDEX ASYNC job_items_sku ON job_items (sku)"))!;
        Assert.Matches("^[a-z2-7]{26}$", jobId);

        await using (var status = new NpgsqlCommand("SELECT status, job_type, object_name FROM sys.jobs WHERE job_id = $1", connection) { Parameters = { new() { Value = jobId } } })
        await using (var reader = await status.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Contains(reader.GetString(0), new[] { "submitted", "completed" });
            Assert.Equal("INDEX_BUILD", reader.GetString(1));
            Assert.Equal("job_items_sku", reader.GetString(2));
        }

        await using (var wait = new NpgsqlCommand("CALL sys.wait_for_job($1)", connection) { Parameters = { new() { Value = jobId } } })
        {
            await wait.ExecuteNonQueryAsync();
        }

        await using (var status = new NpgsqlCommand("SELECT status FROM sys.jobs WHERE job_id = $1", connection) { Parameters = { new() { Value = jobId } } })
        {
            Assert.Equal("completed", await status.ExecuteScalarAsync());
        }

        await Execute(connection, "ALTER TABLE job_items ADD CONSTRAINT job_items_sku UNIQUE USING INDEX job_items_sku");
        await Execute(connection, "INSERT INTO job_items VALUES (1, 10)");
        var duplicate = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "INSERT INTO job_items VALUES (2, 10)"));
        Assert.Equal("23505", duplicate.SqlState);
    }

    [Fact]
    public async Task Index_is_not_valid_before_its_job_completes()
    {
        await fixture.ExecuteOnBackendAsync("DROP TABLE IF EXISTS job_pending; CREATE TABLE job_pending (id int PRIMARY KEY, code text)");
        await using var connection = await fixture.OpenConnectionAsync();
        await Scalar(connection, "CREATE UNIQUE INDEX ASYNC job_pending_code ON job_pending (code)");
        var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "ALTER TABLE job_pending ADD CONSTRAINT job_pending_code UNIQUE USING INDEX job_pending_code"));
        Assert.Equal("55000", error.SqlState);
        Assert.Equal("index \"job_pending_code\" is not valid", error.MessageText);
    }

    [Fact]
    public async Task Synchronous_create_index_is_refused()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "CREATE INDEX job_sync ON pg_class (relname)"));
        Assert.Equal("unsupported mode. please use CREATE INDEX ASYNC.", error.MessageText);
    }

    [Fact]
    public async Task Alter_table_async_validate_constraint_records_a_completed_or_failed_job()
    {
        await fixture.ExecuteOnBackendAsync(
            "DROP TABLE IF EXISTS job_child; DROP TABLE IF EXISTS job_parent; CREATE TABLE job_parent (id int PRIMARY KEY); CREATE TABLE job_child (id int PRIMARY KEY, parent_id int, qty int);" +
            "INSERT INTO job_parent VALUES (1); INSERT INTO job_child VALUES (1, 1, -5)");
        await using var connection = await fixture.OpenConnectionAsync();
        await Execute(connection, "ALTER TABLE job_child ADD CONSTRAINT job_child_fk FOREIGN KEY (parent_id) REFERENCES job_parent (id) NOT VALID");
        await Execute(connection, "ALTER TABLE job_child ADD CONSTRAINT job_child_qty CHECK (qty > 0) NOT VALID");

        var fkJob = await Scalar(connection, "ALTER TABLE ASYNC job_child VALIDATE CONSTRAINT job_child_fk");
        var checkJob = await Scalar(connection, "ALTER TABLE ASYNC job_child VALIDATE CONSTRAINT job_child_qty");

        await using var status = new NpgsqlCommand("SELECT job_type, status FROM sys.jobs WHERE job_id = $1", connection) { Parameters = { new() { Value = fkJob } } };
        await using (var reader = await status.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(("VALIDATE_CONSTRAINT", "completed"), (reader.GetString(0), reader.GetString(1)));
        }

        status.Parameters[0].Value = checkJob;
        await using (var reader = await status.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal("failed", reader.GetString(1));
        }
    }
}
