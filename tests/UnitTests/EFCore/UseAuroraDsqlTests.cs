#pragma warning disable EF1001 // tests reach into EFCore.Dsql and Npgsql internals on purpose
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore.Dsql.Metadata.Conventions;
using Microsoft.EntityFrameworkCore.Metadata.Conventions.Infrastructure;
using Microsoft.Extensions.Logging;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;

namespace EFCore.Dsql.UnitTests.EFCore;

public class UseAuroraDsqlTests
{
    [Fact]
    public void Non_transactional_migration_warning_is_demoted_to_debug_because_every_DSQL_DDL_runs_alone()
    {
        var warnings = TestEndpoints.Options().FindExtension<CoreOptionsExtension>()!.WarningsConfiguration;

        Assert.Equal(LogLevel.Debug, warnings.GetLevel(RelationalEventId.NonTransactionalMigrationOperationWarning));
    }

    [Fact]
    public void Applications_own_choice_for_the_non_transactional_migration_warning_is_kept()
    {
        var builder = new DbContextOptionsBuilder<DbContext>()
            .ConfigureWarnings(w => w.Throw(RelationalEventId.NonTransactionalMigrationOperationWarning))
            .UseAuroraDsql(TestEndpoints.Endpoint);

        var warnings = builder.Options.FindExtension<CoreOptionsExtension>()!.WarningsConfiguration;
        Assert.Equal(WarningBehavior.Throw, warnings.GetBehavior(RelationalEventId.NonTransactionalMigrationOperationWarning));
    }

    [Fact]
    public void Endpoint_gets_DSQL_safe_connection_defaults_and_no_password()
    {
        using var context = new DbContext(TestEndpoints.Options());
        var builder = new NpgsqlConnectionStringBuilder(context.Database.GetConnectionString());

        Assert.Equal(TestEndpoints.Endpoint, builder.Host);
        Assert.Equal(5432, builder.Port);
        Assert.Equal("postgres", builder.Database);
        Assert.Equal("admin", builder.Username);
        Assert.Equal(SslMode.VerifyFull, builder.SslMode);
        Assert.Equal(SslNegotiation.Direct, builder.SslNegotiation);
        Assert.True(builder.NoResetOnClose);
        Assert.Equal(3300, builder.ConnectionLifetime);
        Assert.False(builder.Enlist);
        Assert.Null(builder.Password);
    }

    [Fact]
    public void Cluster_id_with_region_becomes_the_regional_endpoint()
    {
        using var context = new DbContext(TestEndpoints.Options(o => o.Region("eu-west-1"), TestEndpoints.ClusterId));

        Assert.Equal(TestEndpoints.ClusterId + ".dsql.eu-west-1.on.aws", new NpgsqlConnectionStringBuilder(context.Database.GetConnectionString()).Host);
    }

    [Fact]
    public void Cluster_id_without_region_is_refused_with_advice()
    {
        var ex = Assert.Throws<ArgumentException>(() => TestEndpoints.Options(source: TestEndpoints.ClusterId));

        Assert.Contains("region", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Connection_options_overload_uses_the_connectors_options()
    {
        var connectionOptions = DsqlConnectionOptions.Parse(TestEndpoints.Endpoint).WithUsername("app").WithCredentials(TestEndpoints.Credentials);
        var options = new DbContextOptionsBuilder().UseAuroraDsql(connectionOptions).Options;

        Assert.Equal(connectionOptions, options.FindExtension<DsqlOptionsExtension>()!.ConnectionOptions);
        Assert.Equal("app", new NpgsqlConnectionStringBuilder(options.FindExtension<NpgsqlOptionsExtension>()!.ConnectionString).Username);
    }

    [Fact]
    public void Builder_settings_override_the_connection_options()
    {
        var options = TestEndpoints.Options(o => o.TokenDuration(TimeSpan.FromMinutes(5)));

        var resolved = options.FindExtension<DsqlOptionsExtension>()!.ConnectionOptions!;
        Assert.Equal((TimeSpan.FromMinutes(5), "us-east-1"), (resolved.TokenDuration, resolved.Region));
        Assert.Same(TestEndpoints.Credentials, resolved.Credentials);
    }

    [Fact]
    public void Connection_string_settings_win_over_defaults()
    {
        var options = TestEndpoints.Options(
            o => o.Region("us-west-2"), "Host=127.0.0.1;Port=6543;Username=app;SSL Mode=Disable;Maximum Pool Size=7");
        var builder = new NpgsqlConnectionStringBuilder(options.FindExtension<NpgsqlOptionsExtension>()!.ConnectionString);

        Assert.Equal("127.0.0.1", builder.Host);
        Assert.Equal(6543, builder.Port);
        Assert.Equal("app", builder.Username);
        Assert.Equal(SslMode.Disable, builder.SslMode);
        Assert.Equal(7, builder.MaxPoolSize);
        Assert.True(builder.NoResetOnClose);
    }

    [Fact]
    public void Password_in_the_connection_string_is_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => TestEndpoints.Options(source: $"Host={TestEndpoints.Endpoint};Password=hunter2"));

        Assert.Contains("IAM token", ex.Message);
        Assert.DoesNotContain("hunter2", ex.Message);
    }

    [Fact]
    public void Postgres_version_defaults_to_16_and_the_application_can_override_it()
    {
        Assert.Equal(new Version(16, 0), TestEndpoints.Options().FindExtension<NpgsqlOptionsExtension>()!.PostgresVersion);

        var overridden = TestEndpoints.Options(o => o.Npgsql(n => n.SetPostgresVersion(17, 0)));
        Assert.Equal(new Version(17, 0), overridden.FindExtension<NpgsqlOptionsExtension>()!.PostgresVersion);
    }

    [Fact]
    public void DSQL_services_replace_Npgsql_services()
    {
        using var context = new DbContext(TestEndpoints.Options());

        Assert.IsType<DsqlRelationalConnection>(context.GetService<IRelationalConnection>());
        Assert.IsType<DsqlRelationalTransactionFactory>(context.GetService<IRelationalTransactionFactory>());
        Assert.IsType<DsqlExecutionStrategyFactory>(context.GetService<IExecutionStrategyFactory>());
        Assert.IsType<DsqlDatabaseCreator>(context.GetService<IRelationalDatabaseCreator>());
        Assert.IsType<DsqlModelValidator>(context.GetService<IModelValidator>());
        Assert.Contains(context.GetService<IEnumerable<IConventionSetPlugin>>(), p => p is DsqlConventionSetPlugin);
    }

    [Fact]
    public void DSQL_services_win_whether_registered_before_or_after_Npgsql()
    {
        var dsqlFirst = new ServiceCollection().AddEntityFrameworkDsql().AddEntityFrameworkNpgsql();
        var npgsqlFirst = new ServiceCollection().AddEntityFrameworkNpgsql().AddEntityFrameworkDsql();

        foreach (var services in new[] { dsqlFirst, npgsqlFirst })
        {
            Assert.Equal(typeof(DsqlExecutionStrategyFactory), services.Single(d => d.ServiceType == typeof(IExecutionStrategyFactory)).ImplementationType);
            Assert.Equal(typeof(DsqlRelationalTransactionFactory), services.Single(d => d.ServiceType == typeof(IRelationalTransactionFactory)).ImplementationType);
            Assert.Single(services, d => d.ServiceType == typeof(IConventionSetPlugin) && d.ImplementationType == typeof(DsqlConventionSetPlugin));
        }
    }

    [Fact]
    public void Data_source_overload_uses_the_application_data_source()
    {
        using var dataSource = NpgsqlDataSource.Create("Host=localhost;Username=admin");
        var options = new DbContextOptionsBuilder().UseAuroraDsql(dataSource).Options;
        using var context = new DbContext(options);

        Assert.Same(dataSource, ((DsqlRelationalConnection)context.GetService<IRelationalConnection>()).DbDataSource);
        Assert.IsType<DsqlRetryingExecutionStrategy>(context.Database.CreateExecutionStrategy());
    }

    [Fact]
    public void Data_source_overload_refuses_auth_settings_it_cannot_apply()
    {
        using var dataSource = NpgsqlDataSource.Create("Host=localhost;Username=admin");
        var ex = Assert.Throws<InvalidOperationException>(
            () => new DbContext(new DbContextOptionsBuilder().UseAuroraDsql(dataSource, o => o.Region("us-east-1")).Options));
        Assert.Contains("UseDsqlAuthentication", ex.Message);
    }

    [Fact]
    public void Invalid_builder_values_are_refused_immediately()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TestEndpoints.Options(o => o.IdentityCacheSize(100)));
        Assert.Throws<ArgumentOutOfRangeException>(() => TestEndpoints.Options(o => o.TokenDuration(TimeSpan.FromDays(8))));
        Assert.Throws<ArgumentOutOfRangeException>(() => TestEndpoints.Options(o => o.EnableRetryOnFailure(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            TestEndpoints.Options(o => o.EnableRetryOnFailure(3, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1), null)));
    }

    [Fact]
    public void Profile_and_credentials_together_are_refused()
    {
        // Refused when configured: a context differing from others only in its connection shares their service provider.
        var ex = Assert.Throws<InvalidOperationException>(() => new DbContext(TestEndpoints.Options(o => o.Profile("dev"))));
        Assert.Contains("only one", ex.Message);
    }
}
