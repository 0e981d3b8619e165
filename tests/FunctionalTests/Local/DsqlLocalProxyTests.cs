namespace EFCore.Dsql.FunctionalTests.Local;

[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlLocalProxyTests(DsqlLocalFixture fixture)
{
    [Fact]
    public async Task Pooled_connections_run_parameterized_queries_over_tls()
    {
        for (var i = 0; i < 20; i++)
        {
            await using var command = fixture.DataSource.CreateCommand("SELECT $1::int + 1, current_user");
            command.Parameters.Add(new NpgsqlParameter { Value = i });
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(i + 1, reader.GetInt32(0));
            Assert.Equal("admin", reader.GetString(1));
        }
    }

    [Fact]
    public async Task Connection_string_from_the_fixture_works_with_a_plain_NpgsqlConnection()
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_database()", connection);
        Assert.Equal("postgres", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Pipelined_batch_answers_every_statement_in_order()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands = { new("SELECT 1"), new("SELECT 'two'"), new("SELECT $1::int") { Parameters = { new() { Value = 3 } } } },
        };
        await using var reader = await batch.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal(1, reader.GetInt32(0));
        Assert.True(await reader.NextResultAsync());
        Assert.True(await reader.ReadAsync());
        Assert.Equal("two", reader.GetString(0));
        Assert.True(await reader.NextResultAsync());
        Assert.True(await reader.ReadAsync());
        Assert.Equal(3, reader.GetInt32(0));
    }

    [Fact]
    public async Task Prepared_statements_are_reused()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT $1::text || '!'", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = "a" });
        await command.PrepareAsync();
        Assert.True(command.IsPrepared);
        for (var i = 0; i < 3; i++)
        {
            command.Parameters[0].Value = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal($"{i}!", await command.ExecuteScalarAsync());
        }
    }

    [Fact]
    public async Task Refused_statement_answers_dsql_error_and_leaves_the_connection_usable()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await using var truncate = new NpgsqlCommand("TRUNCATE pg_class", connection);
        var error = await Assert.ThrowsAsync<PostgresException>(() => truncate.ExecuteNonQueryAsync());
        Assert.Equal("0A000", error.SqlState);
        Assert.Equal("unsupported statement: Truncate", error.MessageText);
        await using var select = new NpgsqlCommand("SELECT 42", connection);
        Assert.Equal(42, await select.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Refusal_in_a_pipelined_batch_fails_that_statement_and_skips_the_rest()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await using var batch = new NpgsqlBatch(connection) { BatchCommands = { new("SELECT 1"), new("LISTEN x"), new("SELECT 3") } };
        await using (var reader = await batch.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            var error = await Assert.ThrowsAsync<PostgresException>(() => reader.NextResultAsync());
            Assert.Equal("unsupported statement: Listen", error.MessageText);
        }

        await using var select = new NpgsqlCommand("SELECT 4", connection);
        Assert.Equal(4, await select.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Cancel_request_reaches_the_backend()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT pg_sleep(30)", connection);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var error = await Assert.ThrowsAnyAsync<Exception>(() => command.ExecuteNonQueryAsync(cancel.Token));
        Assert.True(error is OperationCanceledException || (error is PostgresException { SqlState: "57014" }), error.ToString());
        await using var select = new NpgsqlCommand("SELECT 5", connection);
        Assert.Equal(5, await select.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Many_concurrent_connections_each_get_their_own_backend_session()
    {
        var pids = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            await using var connection = await fixture.OpenConnectionAsync();
            await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead);
            await using var command = new NpgsqlCommand("SELECT pg_backend_pid(), current_setting('transaction_isolation')", connection);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            Assert.Equal("repeatable read", reader.GetString(1));
            var pid = reader.GetInt32(0);
            await Task.Delay(50);
            return pid;
        }));
        Assert.Equal(pids.Length, pids.Distinct().Count());
    }

    [Fact]
    public async Task Binary_copy_from_stdin_works_through_the_proxy()
    {
        await fixture.ExecuteOnBackendAsync("DROP TABLE IF EXISTS proxy_copy; CREATE TABLE proxy_copy (id int PRIMARY KEY, v text)");
        await using var connection = await fixture.OpenConnectionAsync();
        await using (var importer = await connection.BeginBinaryImportAsync("COPY proxy_copy (id, v) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < 100; i++)
            {
                await importer.StartRowAsync();
                await importer.WriteAsync(i, NpgsqlTypes.NpgsqlDbType.Integer);
                await importer.WriteAsync($"row {i}", NpgsqlTypes.NpgsqlDbType.Text);
            }

            Assert.Equal(100UL, await importer.CompleteAsync());
        }

        await using var count = new NpgsqlCommand("SELECT count(*) FROM proxy_copy", connection);
        Assert.Equal(100L, await count.ExecuteScalarAsync());
    }
}
