#pragma warning disable EF1001 // tests reach into EFCore.Dsql internals on purpose
using System.Collections.Concurrent;
using System.Diagnostics;
using Amazon.Extensions.NETCore.Setup;
using EFCore.Dsql.UnitTests.Npgsql;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging;

namespace EFCore.Dsql.UnitTests.EFCore;

public sealed class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options);

/// <summary>
/// EF's named connection strings and the AWS SDK's AWSOptions with <c>UseAuroraDsql</c>, and what the retry strategy
/// reports: the <c>EFCore.Dsql</c> meter, the retry activity, EF Core's own retry event.
/// </summary>
[Collection(AwsEnvironmentCollection.Name)]
public sealed class ConfigurationAndTelemetryTests
{
    private static ServiceProvider Services(Dictionary<string, string?> configuration, Action<IServiceCollection>? more = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(configuration).Build());
        more?.Invoke(services);
        services.AddDbContextPool<ShopContext>(o => o.UseAuroraDsql("Name=ConnectionStrings:Shop", d => d.Credentials(TestEndpoints.Credentials)));
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Named_connection_string_is_read_from_the_applications_configuration_like_UseNpgsql()
    {
        using var env = new AwsEnvironmentScope();
        using var services = Services(new() { ["ConnectionStrings:Shop"] = $"Host={TestEndpoints.Endpoint};Username=app_user" });
        using var scope = services.CreateScope();

        var connection = new NpgsqlConnectionStringBuilder(scope.ServiceProvider.GetRequiredService<ShopContext>().Database.GetDbConnection().ConnectionString);

        Assert.Equal(TestEndpoints.Endpoint, connection.Host);
        Assert.Equal("app_user", connection.Username);
        Assert.Null(connection.Password);
    }

    [Fact]
    public void Missing_named_connection_string_fails_with_EFs_message_naming_it()
    {
        using var env = new AwsEnvironmentScope();
        using var services = Services([]);
        var scope = services.CreateScope();

        var e = Assert.Throws<InvalidOperationException>(() => scope.ServiceProvider.GetRequiredService<ShopContext>().Database.GetDbConnection());

        Assert.Contains("ConnectionStrings:Shop", e.Message, StringComparison.Ordinal);

        // Returning the context to the pool resolves its connection again, which fails the same way (as with UseNpgsql).
        Assert.Contains("ConnectionStrings:Shop", Assert.Throws<InvalidOperationException>(scope.Dispose).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AWSOptions_registered_in_the_application_give_a_cluster_ID_its_region()
    {
        using var env = new AwsEnvironmentScope();
        using var services = Services(
            new() { ["ConnectionStrings:Shop"] = TestEndpoints.ClusterId },
            s => s.AddDefaultAWSOptions(new AWSOptions { Region = RegionEndpoint.EUWest1 }));
        using var scope = services.CreateScope();

        var connection = new NpgsqlConnectionStringBuilder(scope.ServiceProvider.GetRequiredService<ShopContext>().Database.GetDbConnection().ConnectionString);

        Assert.Equal(TestEndpoints.ClusterId + ".dsql.eu-west-1.on.aws", connection.Host);
    }

    [Fact]
    public void AWSOptions_given_to_the_options_builder_supply_region_and_credentials()
    {
        using var env = new AwsEnvironmentScope();
        var credentials = new BasicAWSCredentials("AKIDFROMAWSOPTIONS", "secret");
        var aws = new ConfigurationBuilder().AddInMemoryCollection([new("AWS:Region", "ap-southeast-2")]).Build().GetAWSOptions();
        aws.Credentials = credentials;

        var extension = new DbContextOptionsBuilder().UseAuroraDsql(TestEndpoints.ClusterId, d => d.AwsOptions(aws)).Options
            .FindExtension<Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal.DsqlOptionsExtension>()!;

        Assert.Equal(TestEndpoints.ClusterId + ".dsql.ap-southeast-2.on.aws", extension.ConnectionOptions!.Host);
        Assert.Same(credentials, extension.ConnectionOptions.Credentials);
    }

    [Fact]
    public async Task Each_retry_is_counted_by_SQLSTATE_and_DSQL_code_traced_and_logged_with_EFs_event_too()
    {
        using var meter = new InstrumentRecorder("EFCore.Dsql");
        var activities = new ConcurrentQueue<Activity>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "EFCore.Dsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(activityListener);
        var events = new ConcurrentQueue<EventId>();
        var options = new DbContextOptionsBuilder<DbContext>()
            .UseAuroraDsql(TestEndpoints.Endpoint, o => o.Credentials(TestEndpoints.Credentials).EnableRetryOnFailure(5, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2), null))
            .LogTo((id, _) => { events.Enqueue(id); return false; }, _ => { })
            .Options;
        await using var context = new DbContext(options);
        var attempts = 0;
        var marker = Guid.NewGuid().ToString("N");
        using var parent = new Activity("unit-of-work " + marker).Start();

        await context.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await Task.Yield();
            return ++attempts < 3 ? throw new DbUpdateException("save", new PostgresException("change conflicts with another transaction (OC000)", "ERROR", "ERROR", "40001")) : attempts;
        });
        parent.Stop();

        var retries = meter.For("efcore.dsql.retries").Where(m => Equals(m.Tags["dsql.error.code"], "OC000")).ToList();
        Assert.True(retries.Sum(m => m.Value) >= 2);
        Assert.All(retries, m => Assert.Equal("40001", m.Tags["db.response.status_code"]));
        Assert.Equal(2, parent.Events.Count(e => e.Name == "dsql.retry"));
        Assert.Equal(2, activities.Count(a => a.ParentId == parent.Id && a.OperationName == "dsql.retry"));
        Assert.Equal(2, events.Count(e => e.Id == DsqlEventId.ExecutionStrategyRetrying.Id));
        Assert.Equal(2, events.Count(e => e.Id == CoreEventId.ExecutionStrategyRetrying.Id));
    }

    [Fact]
    public async Task Units_given_up_and_ambiguous_commits_are_counted()
    {
        using var meter = new InstrumentRecorder("EFCore.Dsql");
        var options = new DbContextOptionsBuilder<DbContext>()
            .UseAuroraDsql(TestEndpoints.Endpoint, o => o.Credentials(TestEndpoints.Credentials).EnableRetryOnFailure(1, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1), null))
            .Options;
        await using var context = new DbContext(options);
        var code = "OC00" + (char)('0' + 1);

        await Assert.ThrowsAsync<RetryLimitExceededException>(() => context.Database.CreateExecutionStrategy().ExecuteAsync(
            () => Task.FromException<int>(new PostgresException($"schema has been updated by another transaction ({code})", "ERROR", "ERROR", "40001"))));
        await Assert.ThrowsAnyAsync<Exception>(() => context.Database.CreateExecutionStrategy().ExecuteAsync(
            () => Task.FromException<int>(new PostgresException("server unavailable", "ERROR", "ERROR", "XX000"))));

        Assert.Contains(meter.For("efcore.dsql.units.given_up"), m => Equals(m.Tags["dsql.error.code"], code) && Equals(m.Tags["dsql.give_up.reason"], "retry_limit"));
        Assert.Contains(meter.For("efcore.dsql.commits.ambiguous"), m => Equals(m.Tags["db.response.status_code"], "XX000"));
    }
}
