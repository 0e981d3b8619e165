#pragma warning disable EF1001 // tests reach into EFCore.Dsql and Npgsql internals on purpose
using Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore.Dsql.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;

namespace EFCore.Dsql.UnitTests.EFCore;

public class OptionsExtensionTests
{
    // A host that names no region, so every region is valid for it.
    private static DbContextOptionsExtensionInfo Info(Action<DsqlDbContextOptionsBuilder> configure)
        => TestEndpoints.Options(o => configure(o.Region("us-east-1")), "Host=localhost;SSL Mode=Disable")
            .FindExtension<DsqlOptionsExtension>()!.Info;

    public static TheoryData<string> BehaviourChangingSettings() => new()
    {
        "retry-off", "retry-count", "retry-duration", "commit-marker", "cache", "error-codes", "migration-jobs",
        "migration-lease",
    };

    private static Action<DsqlDbContextOptionsBuilder> Variant(string setting) => setting switch
    {
        "retry-off" => o => o.DisableRetryOnFailure(),
        "retry-count" => o => o.EnableRetryOnFailure(3),
        "retry-duration" => o => o.EnableRetryOnFailure(new DsqlRetryOptions { MaxRetryDuration = TimeSpan.FromSeconds(5) }),
        "commit-marker" => o => o.VerifyCommitsWithMarker(),
        "cache" => o => o.IdentityCacheSize(1),
        "error-codes" => o => o.EnableRetryOnFailure(3, TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1), ["57014"]),
        "migration-jobs" => o => o.WaitForMigrationJobs(false),
        "migration-lease" => o => o.MigrationLockLease(TimeSpan.FromMinutes(30)),
        _ => throw new ArgumentOutOfRangeException(nameof(setting)),
    };

    [Theory]
    [MemberData(nameof(BehaviourChangingSettings))]
    public void Contexts_differing_in_a_behaviour_changing_setting_do_not_share_a_service_provider(string setting)
    {
        var baseline = Info(_ => { });
        var changed = Info(Variant(setting));

        Assert.False(baseline.ShouldUseSameServiceProvider(changed));
        Assert.NotEqual(baseline.GetServiceProviderHashCode(), changed.GetServiceProviderHashCode());
        Assert.NotEqual(DebugInfo(baseline), DebugInfo(changed));
    }

    public static TheoryData<string> ConnectionSettings() => new() { "region", "credentials", "refreshing-credentials", "token" };

    // The connection only picks a data source (the provider's one DsqlDataSourceManager keys by all of it): contexts
    // that differ in it share EF's service provider, so credentials built per context cannot create a provider each.
    [Theory]
    [MemberData(nameof(ConnectionSettings))]
    public void Contexts_differing_only_in_connection_settings_share_a_service_provider(string setting)
    {
        var baseline = Info(_ => { });
        var changed = Info(setting switch
        {
            "region" => o => o.Region("eu-west-1"),
            "credentials" => o => o.Credentials(new BasicAWSCredentials("AKIDOTHER", "other-secret")),
            "refreshing-credentials" => o => o.Credentials(new AnonymousAWSCredentials()),
            "token" => o => o.TokenDuration(TimeSpan.FromMinutes(5)),
            _ => throw new ArgumentOutOfRangeException(nameof(setting)),
        });

        Assert.True(baseline.ShouldUseSameServiceProvider(changed));
        Assert.Equal(baseline.GetServiceProviderHashCode(), changed.GetServiceProviderHashCode());
    }

    // EF shows this when contexts keep creating service providers; every setting that splits them must show up in it.
    private static Dictionary<string, string> DebugInfo(DbContextOptionsExtensionInfo info)
    {
        var debugInfo = new Dictionary<string, string>();
        info.PopulateDebugInfo(debugInfo);
        return debugInfo;
    }

    [Fact]
    public void Migration_settings_configured_in_UseAuroraDsql_reach_the_migration_services()
    {
        var options = TestEndpoints.Options(
            o => o.Region("us-east-1").WaitForMigrationJobs(false).MigrationLockLease(TimeSpan.FromMinutes(30)),
            "Host=localhost;SSL Mode=Disable");

        var resolved = DsqlMigrationsOptions.Of(options);

        Assert.False(resolved.WaitForJobs);
        Assert.Equal(TimeSpan.FromMinutes(30), resolved.LockLease);
    }

    [Fact]
    public void Migration_defaults_wait_for_jobs_with_a_ten_minute_lease()
    {
        var resolved = DsqlMigrationsOptions.Of(TestEndpoints.Options(o => o.Region("us-east-1"), "Host=localhost;SSL Mode=Disable"));

        Assert.True(resolved.WaitForJobs);
        Assert.Equal(TimeSpan.FromMinutes(10), resolved.LockLease);
    }

    [Fact]
    public void A_migration_lock_lease_under_one_second_is_refused_with_the_default_named()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(
            () => TestEndpoints.Options(o => o.MigrationLockLease(TimeSpan.FromMilliseconds(500)), "Host=localhost;SSL Mode=Disable"));

        Assert.Contains("at least one second", error.Message);
        Assert.Contains("10 minutes", error.Message);
    }

    [Fact]
    public void Identical_configurations_share_a_service_provider()
    {
        var a = Info(o => o.Region("us-east-1").EnableRetryOnFailure(4));
        var b = Info(o => o.Region("us-east-1").EnableRetryOnFailure(4));

        Assert.True(a.ShouldUseSameServiceProvider(b));
        Assert.Equal(a.GetServiceProviderHashCode(), b.GetServiceProviderHashCode());
    }

    [Fact]
    public void Equal_fixed_credentials_share_a_data_source()
    {
        using var manager = new DsqlDataSourceManager([]);
        var options = DsqlConnectionOptions.Parse("Host=localhost;SSL Mode=Disable", "us-east-1");
        Assert.Same(
            manager.GetDataSource(options.WithCredentials(new BasicAWSCredentials("AKIDSAME", "same-secret")), null),
            manager.GetDataSource(options.WithCredentials(new BasicAWSCredentials("AKIDSAME", "same-secret")), null));
    }

    [Fact]
    public void Refreshing_credentials_are_told_apart_by_instance()
    {
        using var manager = new DsqlDataSourceManager([]);
        var options = DsqlConnectionOptions.Parse("Host=localhost;SSL Mode=Disable", "us-east-1");
        var shared = new AnonymousAWSCredentials();

        Assert.Same(manager.GetDataSource(options.WithCredentials(shared), null), manager.GetDataSource(options.WithCredentials(shared), null));
        Assert.NotSame(manager.GetDataSource(options.WithCredentials(shared), null), manager.GetDataSource(options.WithCredentials(new AnonymousAWSCredentials()), null));
    }

    [Fact]
    public void Extension_is_immutable()
    {
        var original = new DsqlOptionsExtension();
        var changed = original.WithRegion("eu-west-1").WithIdentityCacheSize(1);

        Assert.Null(original.Auth.Region);
        Assert.Equal(DsqlLimits.DefaultIdentityCacheSize, original.IdentityCacheSize);
        Assert.Equal(("eu-west-1", 1L), (changed.Auth.Region, changed.IdentityCacheSize));
    }

    [Fact]
    public void Log_fragment_and_auth_settings_never_show_secrets()
    {
        var extension = TestEndpoints.Options(o => o.Region("us-east-1")).FindExtension<DsqlOptionsExtension>()!;

        Assert.DoesNotContain(TestEndpoints.SecretKey, extension.Info.LogFragment);
        Assert.DoesNotContain("AKIDEXAMPLE", extension.Info.LogFragment);
        Assert.DoesNotContain(TestEndpoints.SecretKey, extension.ConnectionOptions!.ToString());
        var debugInfo = new Dictionary<string, string>();
        extension.Info.PopulateDebugInfo(debugInfo);
        Assert.DoesNotContain(debugInfo.Values, v => v.Contains(TestEndpoints.SecretKey));
    }

    [Fact]
    public void Data_sources_are_shared_per_configuration_and_split_by_credentials_and_region()
    {
        using var manager = new DsqlDataSourceManager([]);
        var npgsql = new NpgsqlOptionsExtension();
        var baseline = DsqlConnectionOptions.Parse("Host=localhost;SSL Mode=Disable", "us-east-1").WithCredentials(TestEndpoints.Credentials);

        var first = manager.GetDataSource(baseline, npgsql);
        var again = manager.GetDataSource(DsqlConnectionOptions.Parse("Host=localhost;SSL Mode=Disable", "us-east-1").WithCredentials(TestEndpoints.Credentials), npgsql);
        var otherCredentials = manager.GetDataSource(baseline.WithCredentials(new BasicAWSCredentials("AKIDOTHER", "other")), npgsql);
        var otherRegion = manager.GetDataSource(baseline.WithRegion("us-east-2"), npgsql);

        Assert.Same(first, again);
        Assert.NotSame(first, otherCredentials);
        Assert.NotSame(first, otherRegion);
        Assert.Equal(3, manager.Count);
    }
}
