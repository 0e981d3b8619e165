namespace EFCore.Dsql.FunctionalTests.Npgsql;

/// <summary>
/// <see cref="DsqlRetry"/> (the ADO.NET/Dapper twin of EF's execution strategy) against Dsql.Local with IAM tokens from
/// the connector: hot-row contention with default settings ends at exact counts; permanent failures are not retried.
/// </summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlRetryTests(DsqlLocalFixture fixture) : IAsyncLifetime
{
    private NpgsqlDataSource _dataSource = null!;

    public async Task InitializeAsync()
    {
        _dataSource = DsqlDataSource.Create(DsqlConnectionOptions
            .Parse($"postgresql://admin@{fixture.Endpoint}:{fixture.Port}/postgres?sslmode=require&Trust%20Server%20Certificate=true&Application%20Name=dsql-retry-tests", fixture.Region)
            .WithCredentials(new BasicAWSCredentials(fixture.Credential.AccessKeyId, fixture.Credential.SecretAccessKey)));
        foreach (var ddl in new[] { "DROP TABLE IF EXISTS retry_counters", "CREATE TABLE retry_counters (id bigint PRIMARY KEY, value bigint NOT NULL)" })
        {
            // One DDL statement per transaction, as DSQL requires.
            await DsqlRetry.ExecuteAsync(_dataSource, async (connection, ct) =>
            {
                await using var command = new NpgsqlCommand(ddl, connection);
                await command.ExecuteNonQueryAsync(ct);
            });
        }
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    [Theory]
    [InlineData(16, 50)]
    [InlineData(32, 25)]
    public async Task Workers_incrementing_one_hot_row_with_default_settings_end_at_the_exact_count(int workers, int increments)
    {
        var id = (long)workers;
        await DsqlRetry.ExecuteAsync(_dataSource, async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"INSERT INTO retry_counters VALUES ({id}, 0)", connection);
            await command.ExecuteNonQueryAsync(ct);
        });

        var attempts = 0;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < increments; i++)
            {
                // Read, then write what was read plus one: a conflict (40001 OC000) at COMMIT when another worker got there first.
                await DsqlRetry.ExecuteAsync(_dataSource, async (connection, ct) =>
                {
                    Interlocked.Increment(ref attempts);
                    await using var read = new NpgsqlCommand($"SELECT value FROM retry_counters WHERE id = {id}", connection);
                    var value = (long)(await read.ExecuteScalarAsync(ct))!;
                    await using var write = new NpgsqlCommand($"UPDATE retry_counters SET value = {value + 1} WHERE id = {id}", connection);
                    await write.ExecuteNonQueryAsync(ct);
                });
            }
        })));

        var final = await DsqlRetry.ExecuteAsync(_dataSource, async (connection, ct) =>
        {
            await using var command = new NpgsqlCommand($"SELECT value FROM retry_counters WHERE id = {id}", connection);
            return (long)(await command.ExecuteScalarAsync(ct))!;
        });

        var total = workers * increments;
        TestSummary.Write(
            $"dsql-retry-contention-{workers}x{increments}",
            $"connector DsqlRetry: {workers} workers x {increments} read-then-update increments of one row on Dsql.Local (IAM, TLS), default "
                + $"DsqlRetryOptions (budget {DsqlRetryOptions.DefaultMaxRetryDuration.TotalSeconds:0} s / {DsqlRetryOptions.DefaultMaxRetryCount} retries, "
                + $"full jitter {DsqlRetryOptions.DefaultBaseDelay.TotalMilliseconds:0} ms to {DsqlRetryOptions.DefaultMaxDelay.TotalMilliseconds:0} ms): "
                + $"final value {final}/{total}, {attempts - total} retries");
        Assert.Equal(total, final);
        Assert.True(attempts > total, "the run must have been contended");
    }

    [Fact]
    public async Task The_generic_overload_returns_the_committed_attempts_value_and_permanent_failures_are_not_retried()
    {
        var attempts = 0;
        var ex = await Assert.ThrowsAsync<PostgresException>(() => DsqlRetry.ExecuteAsync(_dataSource, async (connection, ct) =>
        {
            attempts++;
            await using var command = new NpgsqlCommand("INSERT INTO retry_counters VALUES (7, 0), (7, 0)", connection);
            return await command.ExecuteNonQueryAsync(ct);
        }));

        Assert.Equal(("23505", 1), (ex.SqlState, attempts));
        Assert.Equal(1L, DsqlRetry.Execute(_dataSource, connection =>
        {
            using var command = new NpgsqlCommand("SELECT 1::bigint", connection);
            return (long)command.ExecuteScalar()!;
        }));
    }
}
