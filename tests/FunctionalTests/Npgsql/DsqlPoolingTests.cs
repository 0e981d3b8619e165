using System.Collections.Concurrent;

namespace EFCore.Dsql.FunctionalTests.Npgsql;

/// <summary>Npgsql's pool with DSQL authentication: bounded, one token per physical connection, DSQL-safe recycling.</summary>
[Collection(PasswordAuthPostgresCollection.Name)]
public class DsqlPoolingTests(PasswordAuthPostgresFixture fixture)
{
    private static readonly DateTimeOffset SigningTime = new(2026, 11, 26, 2, 0, 0, TimeSpan.Zero);

    private async Task<(DsqlConnectionOptions Options, CountingCredentials Credentials)> RoleAsync(string role, string npgsqlSettings = "")
    {
        var credentials = new CountingCredentials();
        var options = DsqlConnectionOptions
            .Parse($"Host={fixture.Instance.Host};Port={fixture.Instance.Port};Username={role};SSL Mode=Disable;{npgsqlSettings}", "us-east-1")
            .WithCredentials(credentials)
            .WithTimeProvider(new FixedTimeProvider(SigningTime));
        await fixture.CreateRoleAsync(role, new DsqlAuthTokenProvider(options).GenerateToken());
        return (options, credentials);
    }

    [Fact]
    public async Task Sixty_four_concurrent_opens_stay_within_the_pool_and_each_physical_connection_gets_its_own_token()
    {
        const int maxPoolSize = 5;
        var (options, credentials) = await RoleAsync("dsql_pool", $"Maximum Pool Size={maxPoolSize};Timeout=60");
        var callsBefore = credentials.Calls;
        var syncCallsBefore = credentials.SyncCalls;
        await using var dataSource = DsqlDataSource.Create(options);
        var backendPids = new ConcurrentDictionary<int, bool>();
        var maxSessions = 0;

        await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            backendPids[connection.ProcessID] = true;
            // Hold the connection briefly so that opens overlap, and count this role's sessions as the server sees them.
            await using var command = new NpgsqlCommand(
                "SELECT count(*)::int FROM pg_stat_activity, pg_sleep(0.02) WHERE usename = current_user", connection);
            var sessions = (int)(await command.ExecuteScalarAsync())!;
            InterlockedMax(ref maxSessions, sessions);
        }));

        var tokensGenerated = credentials.Calls - callsBefore;
        if (Environment.GetEnvironmentVariable("DSQL_TEST_SUMMARY_DIR") is { Length: > 0 } summaries)
        {
            await File.WriteAllTextAsync(
                Path.Combine(summaries, "connector-pooling.txt"),
                $"connector: 64 concurrent opens -> {backendPids.Count} physical connections (Maximum Pool Size {maxPoolSize}), " +
                $"{tokensGenerated} tokens generated, at most {maxSessions} sessions seen by the server{Environment.NewLine}");
        }

        Assert.InRange(backendPids.Count, 1, maxPoolSize);
        Assert.InRange(maxSessions, 1, maxPoolSize);
        Assert.Equal(backendPids.Count, tokensGenerated);
        Assert.Equal(syncCallsBefore, credentials.SyncCalls);
    }

    [Fact]
    public async Task Pooled_connection_is_reused_without_a_new_token_and_without_a_session_reset()
    {
        var (options, credentials) = await RoleAsync("dsql_pool_reuse");
        await using var dataSource = DsqlDataSource.Create(options);

        int firstPid;
        await using (var first = await dataSource.OpenConnectionAsync())
        {
            firstPid = first.ProcessID;
            await using var set = new NpgsqlCommand("SET search_path = pg_catalog", first);
            await set.ExecuteNonQueryAsync();
        }

        var callsAfterFirst = credentials.Calls;
        await using var second = await dataSource.OpenConnectionAsync();
        await using var show = new NpgsqlCommand("SHOW search_path", second);

        Assert.Equal(firstPid, second.ProcessID);
        Assert.Equal(callsAfterFirst, credentials.Calls);
        // No Reset On Close: Npgsql sent no DISCARD ALL (which DSQL refuses), so session state survives the pool.
        Assert.Equal("pg_catalog", await show.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Connection_lifetime_retires_old_connections_and_the_replacement_gets_a_new_token()
    {
        var (options, credentials) = await RoleAsync("dsql_pool_lifetime");
        await using var dataSource = DsqlDataSource.Create(options.WithConnectionLifetime(TimeSpan.FromSeconds(1)));

        int firstPid;
        await using (var first = await dataSource.OpenConnectionAsync())
        {
            firstPid = first.ProcessID;
            // Outlive the lifetime while in use; Npgsql retires the connection when it comes back to the pool.
            await Task.Delay(TimeSpan.FromSeconds(1.5));
        }

        var callsAfterFirst = credentials.Calls;
        await using var second = await dataSource.OpenConnectionAsync();

        Assert.NotEqual(firstPid, second.ProcessID);
        Assert.Equal(callsAfterFirst + 1, credentials.Calls);
    }

    [Fact]
    public void Default_lifetime_is_below_dsqls_one_hour_limit()
    {
        using var dataSource = DsqlDataSource.Create(DsqlConnectionOptions.Parse("abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"));
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);

        Assert.Equal(3300, settings.ConnectionLifetime);
        Assert.True(settings.NoResetOnClose);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
