using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Amazon;
using Amazon.Extensions.NETCore.Setup;
using Microsoft.Extensions.DependencyInjection;

namespace EFCore.Dsql.FunctionalTests.Npgsql;

/// <summary>
/// Against Dsql.Local with IAM checks on: <c>AddDsqlDataSource</c> with AWS settings from an <c>AWSOptions</c> in the
/// container, and a <see cref="MeterListener"/> that sees the connector's token instruments and the EF retry
/// instruments for a real optimistic-concurrency conflict.
/// </summary>
[Collection(ProcessWideMetersCollection.Name)]
public sealed class DsqlDependencyInjectionAndMetricsTests(DsqlLocalFixture emulator) : IClassFixture<DsqlLocalFixture>
{
    private string ConnectionString => $"Host={emulator.Endpoint};Port={emulator.Port};SSL Mode=Require";

    private AWSOptions AwsOptions => new()
    {
        Region = RegionEndpoint.GetBySystemName(emulator.Region),
        Credentials = new BasicAWSCredentials(emulator.Credential.AccessKeyId, emulator.Credential.SecretAccessKey),
    };

    [Fact]
    public async Task AddDsqlDataSource_connects_with_region_and_credentials_from_the_containers_AWSOptions()
    {
        var services = new ServiceCollection();
        services.AddDefaultAWSOptions(AwsOptions);
        services.AddDsqlDataSource(ConnectionString);
        await using var provider = services.BuildServiceProvider();

        await using var connection = provider.GetRequiredService<NpgsqlConnection>();
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_user::text", connection);

        Assert.Equal("admin", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Meter_listener_sees_token_instruments_and_retry_instruments_of_a_real_OCC_conflict()
    {
        var measurements = new ConcurrentQueue<(string Instrument, long Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name is "Dsql.Npgsql" or "EFCore.Dsql")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            measurements.Enqueue((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value))));
        listener.Start();

        var table = "meter_counter_" + Guid.NewGuid().ToString("N")[..8];
        await Execute($"CREATE TABLE {table} (id bigint PRIMARY KEY, n bigint NOT NULL)");
        await Execute($"INSERT INTO {table} VALUES (1, 0)");

        await using var context = new DbContext(new DbContextOptionsBuilder()
            .UseAuroraDsql(ConnectionString, dsql => dsql.AwsOptions(AwsOptions))
            .ConfigureWarnings(global::EFCore.Dsql.FunctionalTests.EFCore.TestWarnings.Configure)
            .Options);
        var read = $"SELECT n FROM {table} WHERE id = 1";
        var write = $"UPDATE {table} SET n = n + 10 WHERE id = 1";
        var attempts = 0;
        await context.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            attempts++;
            await using var transaction = await context.Database.BeginTransactionAsync();
            await context.Database.ExecuteSqlRawAsync(read);
            if (attempts == 1)
            {
                // Another session changes the row after this transaction's snapshot: this commit must conflict.
                await Execute($"UPDATE {table} SET n = n + 1 WHERE id = 1");
            }

            await context.Database.ExecuteSqlRawAsync(write);
            await transaction.CommitAsync();
        });

        Assert.Equal(2, attempts);
        Assert.Contains(measurements, m => m.Instrument == "dsql.npgsql.tokens.generated" && Equals(m.Tags["server.address"], emulator.Endpoint));
        var retry = Assert.Single(measurements, m => m.Instrument == "efcore.dsql.retries");
        Assert.Equal("40001", retry.Tags["db.response.status_code"]);
        await using var check = new NpgsqlCommand($"SELECT n FROM {table} WHERE id = 1", await emulator.DataSource.OpenConnectionAsync());
        Assert.Equal(11L, await check.ExecuteScalarAsync());
        await check.Connection!.DisposeAsync();
    }

    private async Task Execute(string sql)
    {
        await using var connection = await emulator.DataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// Tests whose <see cref="MeterListener"/> counts EF's retry instrument run alone: meters are process-wide, so the
/// contention tests' retries running alongside would reach the listener too.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideMetersCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Process-wide meters";
}
