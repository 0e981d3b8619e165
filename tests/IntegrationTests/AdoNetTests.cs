using System.Data;

namespace EFCore.Dsql.IntegrationTests;

/// <summary>Plain ADO.NET on both the synchronous and the asynchronous paths, and DSQL's transaction rules.</summary>
[Collection(ClusterCollection.Name)]
public sealed class AdoNetTests(ClusterFixture fixture)
{
    [ClusterFact]
    public void Synchronous_commands_insert_update_read_and_delete()
    {
        using var table = Sync(fixture.CreateTableAsync("ado_sync", "id bigint PRIMARY KEY, name text NOT NULL"));
        using var connection = fixture.DataSource.OpenConnection();

        using (var insert = ClusterFixture.Command(connection, $"INSERT INTO {table.Name} VALUES ($1, $2), ($3, $4)", 1L, "one", 2L, "two"))
        {
            Assert.Equal(2, insert.ExecuteNonQuery());
        }

        using (var update = ClusterFixture.Command(connection, $"UPDATE {table.Name} SET name = $1 WHERE id = $2", "uno", 1L))
        {
            Assert.Equal(1, update.ExecuteNonQuery());
        }

        var rows = new List<(long, string)>();
        using (var select = new NpgsqlCommand($"SELECT id, name FROM {table.Name} ORDER BY id", connection))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                rows.Add((reader.GetInt64(0), reader.GetString(1)));
            }
        }

        Assert.Equal([(1L, "uno"), (2L, "two")], rows);
        using var delete = ClusterFixture.Command(connection, $"DELETE FROM {table.Name} WHERE id = $1", 2L);
        Assert.Equal(1, delete.ExecuteNonQuery());
        using var count = new NpgsqlCommand($"SELECT count(*) FROM {table.Name}", connection);
        Assert.Equal(1L, count.ExecuteScalar());
    }

    [ClusterFact]
    public async Task Asynchronous_commands_and_batches_insert_update_read_and_delete()
    {
        await using var table = await fixture.CreateTableAsync("ado_async", "id bigint PRIMARY KEY, name text NOT NULL");
        await using var connection = await fixture.DataSource.OpenConnectionAsync();

        await using (var batch = new NpgsqlBatch(connection))
        {
            for (var i = 1; i <= 3; i++)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"INSERT INTO {table.Name} VALUES ($1, $2)") { Parameters = { new() { Value = (long)i }, new() { Value = $"row {i}" } } });
            }

            Assert.Equal(3, await batch.ExecuteNonQueryAsync());
        }

        await using (var update = ClusterFixture.Command(connection, $"UPDATE {table.Name} SET name = name || '!' WHERE id >= $1", 2L))
        {
            Assert.Equal(2, await update.ExecuteNonQueryAsync());
        }

        var names = new List<string>();
        await using (var select = new NpgsqlCommand($"SELECT name FROM {table.Name} ORDER BY id", connection))
        await using (var reader = await select.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                names.Add(reader.GetString(0));
            }
        }

        Assert.Equal(["row 1", "row 2!", "row 3!"], names);
        await using var delete = new NpgsqlCommand($"DELETE FROM {table.Name}", connection);
        Assert.Equal(3, await delete.ExecuteNonQueryAsync());
    }

    [ClusterFact]
    public async Task Column_types_DSQL_supports_round_trip_through_parameters()
    {
        await using var table = await fixture.CreateTableAsync(
            "ado_types", "id uuid PRIMARY KEY, n numeric(12,2), at timestamptz, flag boolean, data bytea, day date, doc text, big bigint");
        var id = Guid.NewGuid();
        var at = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        await using (var insert = ClusterFixture.Command(
                         connection, $"INSERT INTO {table.Name} VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                         id, 1234.56m, at, true, new byte[] { 0, 1, 255 }, new DateOnly(2026, 2, 28), "{\"a\":1}", long.MaxValue))
        {
            await insert.ExecuteNonQueryAsync();
        }

        await using var select = ClusterFixture.Command(connection, $"SELECT n, at, flag, data, day, doc::json ->> 'a', big FROM {table.Name} WHERE id = $1", id);
        await using var reader = await select.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(1234.56m, reader.GetDecimal(0));
        Assert.Equal(at, reader.GetDateTime(1));
        Assert.True(reader.GetBoolean(2));
        Assert.Equal(new byte[] { 0, 1, 255 }, reader.GetFieldValue<byte[]>(3));
        Assert.Equal(new DateOnly(2026, 2, 28), reader.GetFieldValue<DateOnly>(4));
        Assert.Equal("1", reader.GetString(5));
        Assert.Equal(long.MaxValue, reader.GetInt64(6));
    }

    [ClusterFact]
    public void Synchronous_repeatable_read_transaction_commits_its_writes()
    {
        using var table = Sync(fixture.CreateTableAsync("ado_tx_sync", "id bigint PRIMARY KEY"));
        using (var connection = fixture.DataSource.OpenConnection())
        using (var transaction = connection.BeginTransaction(IsolationLevel.RepeatableRead))
        {
            using var insert = new NpgsqlCommand($"INSERT INTO {table.Name} VALUES (1), (2)", connection, transaction);
            insert.ExecuteNonQuery();
            transaction.Commit();
        }

        Assert.Equal(2L, Sync(fixture.ScalarAsync<long>($"SELECT count(*) FROM {table.Name}")));
    }

    [ClusterFact]
    public async Task Asynchronous_rollback_discards_the_transactions_writes()
    {
        await using var table = await fixture.CreateTableAsync("ado_tx_async", "id bigint PRIMARY KEY");
        await using (var connection = await fixture.DataSource.OpenConnectionAsync())
        await using (var transaction = await ClusterFixture.BeginAsync(connection))
        {
            await using var insert = new NpgsqlCommand($"INSERT INTO {table.Name} VALUES (1)", connection, transaction);
            await insert.ExecuteNonQueryAsync();
            await using var inside = new NpgsqlCommand($"SELECT count(*) FROM {table.Name}", connection, transaction);
            Assert.Equal(1L, await inside.ExecuteScalarAsync());
            await transaction.RollbackAsync();
        }

        Assert.Equal(0L, await fixture.ScalarAsync<long>($"SELECT count(*) FROM {table.Name}"));
    }

    [ClusterFact]
    public async Task Read_committed_transactions_and_savepoints_are_refused_as_DSQL_documents()
    {
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        var readCommitted = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted);
            await using var command = new NpgsqlCommand("SELECT 1", connection, transaction);
            await command.ExecuteScalarAsync();
        });
        Assert.Equal(PostgresErrorCodes.FeatureNotSupported, readCommitted.SqlState);

        await using var other = await fixture.DataSource.OpenConnectionAsync();
        await using var repeatable = await ClusterFixture.BeginAsync(other);
        await using var savepoint = new NpgsqlCommand("SAVEPOINT s1", other, repeatable);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => savepoint.ExecuteNonQueryAsync());
        Assert.Equal(PostgresErrorCodes.FeatureNotSupported, refused.SqlState);
    }

    [ClusterFact]
    public async Task Ddl_and_dml_in_one_transaction_are_refused()
    {
        await using var table = await fixture.CreateTableAsync("ado_ddl_dml", "id bigint PRIMARY KEY");
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await ClusterFixture.BeginAsync(connection);
        await using (var insert = new NpgsqlCommand($"INSERT INTO {table.Name} VALUES (1)", connection, transaction))
        {
            await insert.ExecuteNonQueryAsync();
        }

        await using var ddl = new NpgsqlCommand($"CREATE TABLE {ClusterFixture.Schema}.ado_never (id bigint PRIMARY KEY)", connection, transaction);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => ddl.ExecuteNonQueryAsync());
        Assert.Equal(PostgresErrorCodes.FeatureNotSupported, refused.SqlState);
    }

    private static T Sync<T>(Task<T> task) => task.GetAwaiter().GetResult();

    private static SyncTable Sync(Task<ScratchTable> task) => new(task.GetAwaiter().GetResult());

    private sealed class SyncTable(ScratchTable table) : IDisposable
    {
        public string Name => table.Name;

        public void Dispose() => table.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
