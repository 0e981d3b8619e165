namespace EFCore.Dsql.UnitTests.Npgsql;

public class DsqlNpgsqlSettingsTests
{
    private const string Endpoint = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";

    [Fact]
    public void Dsql_endpoint_gets_verify_full_direct_tls_and_the_safe_pool_defaults()
    {
        var settings = DsqlConnectionOptions.Parse(Endpoint).ToNpgsqlConnectionStringBuilder();

        Assert.Equal(
            $"Host={Endpoint};Port=5432;Username=admin;Database=postgres;SSL Mode=VerifyFull;SSL Negotiation=Direct;" +
            $"Connection Lifetime=3300;Application Name={DsqlConnectionOptions.DefaultApplicationName};No Reset On Close=True;Enlist=False",
            settings.ConnectionString);
        Assert.Null(settings.Password);
    }

    [Fact]
    public void Non_dsql_host_gets_VerifyFull_without_direct_negotiation_and_the_pool_defaults()
    {
        var settings = DsqlConnectionOptions.Parse("Host=127.0.0.1;Port=15432", "us-east-1").ToNpgsqlConnectionStringBuilder();

        Assert.Equal(
            $"Host=127.0.0.1;Port=15432;Username=admin;Database=postgres;SSL Mode=VerifyFull;" +
            $"Connection Lifetime=3300;Application Name={DsqlConnectionOptions.DefaultApplicationName};No Reset On Close=True;Enlist=False",
            settings.ConnectionString);
    }

    [Fact]
    public void Explicit_options_override_every_default()
    {
        var options = DsqlConnectionOptions.Parse(Endpoint)
            .WithSslMode(SslMode.Disable)
            .WithConnectionLifetime(TimeSpan.Zero)
            .WithApplicationName("svc")
            .WithNpgsqlSettings(b =>
            {
                b.NoResetOnClose = false;
                b.Enlist = true;
                b.SslNegotiation = SslNegotiation.Postgres;
                b.MaxPoolSize = 9;
            });

        var settings = options.ToNpgsqlConnectionStringBuilder();

        Assert.Equal(SslMode.Disable, settings.SslMode);
        Assert.Equal(SslNegotiation.Postgres, settings.SslNegotiation);
        Assert.Equal(0, settings.ConnectionLifetime);
        Assert.Equal("svc", settings.ApplicationName);
        Assert.False(settings.NoResetOnClose);
        Assert.True(settings.Enlist);
        Assert.Equal(9, settings.MaxPoolSize);
    }

    [Fact]
    public void Ssl_mode_below_require_does_not_get_direct_negotiation()
    {
        var settings = DsqlConnectionOptions.Parse(Endpoint).WithSslMode(SslMode.Prefer).ToNpgsqlConnectionStringBuilder();

        Assert.Equal(SslMode.Prefer, settings.SslMode);
        Assert.Equal(SslNegotiation.Postgres, settings.SslNegotiation);
    }

    [Fact]
    public void Builders_own_settings_beat_defaults_but_lose_to_explicit_options()
    {
        var builder = new NpgsqlDataSourceBuilder("Host=ignored;SSL Mode=Require;Connection Lifetime=100;Application Name=from-builder;No Reset On Close=false;Timeout=4");
        var options = DsqlConnectionOptions.Parse(Endpoint).WithApplicationName("from-options");

        builder.UseDsqlAuthentication(options);
        var settings = builder.ConnectionStringBuilder;

        Assert.Equal(Endpoint, settings.Host);
        Assert.Equal(SslMode.Require, settings.SslMode);
        Assert.Equal(SslNegotiation.Direct, settings.SslNegotiation);
        Assert.Equal(100, settings.ConnectionLifetime);
        Assert.Equal("from-options", settings.ApplicationName);
        Assert.False(settings.NoResetOnClose);
        Assert.Equal(4, settings.Timeout);
    }

    [Fact]
    public void Builders_settings_are_recognised_under_npgsql_synonyms()
    {
        var builder = new NpgsqlDataSourceBuilder("Server=ignored;sslmode=Require;ConnectionLifetime=100;NoResetOnClose=false");

        builder.UseDsqlAuthentication(DsqlConnectionOptions.Parse(Endpoint));

        Assert.Equal(SslMode.Require, builder.ConnectionStringBuilder.SslMode);
        Assert.Equal(100, builder.ConnectionStringBuilder.ConnectionLifetime);
        Assert.False(builder.ConnectionStringBuilder.NoResetOnClose);
    }

    [Fact]
    public void Builder_with_a_password_is_refused()
    {
        var builder = new NpgsqlDataSourceBuilder("Host=x;Password=hunter2");

        var exception = Assert.Throws<InvalidOperationException>(() => builder.UseDsqlAuthentication(DsqlConnectionOptions.Parse(Endpoint)));
        Assert.DoesNotContain("hunter2", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Builder_can_be_configured_from_its_own_connection_string()
    {
        var builder = new NpgsqlDataSourceBuilder($"Host={Endpoint};Username=reader;Maximum Pool Size=4");

        builder.UseDsqlAuthentication();

        Assert.Equal("reader", builder.ConnectionStringBuilder.Username);
        Assert.Equal(4, builder.ConnectionStringBuilder.MaxPoolSize);
        Assert.Equal(SslMode.VerifyFull, builder.ConnectionStringBuilder.SslMode);
    }

    [Fact]
    public void Slim_builder_gets_the_same_settings()
    {
        var options = DsqlConnectionOptions.Parse(Endpoint).WithUsername("reader");
        var builder = new NpgsqlSlimDataSourceBuilder();

        builder.UseDsqlAuthentication(options);

        Assert.Equal(options.ToNpgsqlConnectionStringBuilder().ConnectionString, builder.ConnectionStringBuilder.ConnectionString);
    }

    [Fact]
    public void DsqlDataSource_builds_a_plain_npgsql_data_source_with_the_dsql_settings()
    {
        using var dataSource = DsqlDataSource.Create($"postgresql://reader@{Endpoint}/postgres?Maximum%20Pool%20Size=3");

        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Assert.IsAssignableFrom<NpgsqlDataSource>(dataSource);
        Assert.Equal(Endpoint, settings.Host);
        Assert.Equal("reader", settings.Username);
        Assert.Equal(3, settings.MaxPoolSize);
        Assert.True(settings.NoResetOnClose);
        Assert.Null(settings.Password);
    }

    [Theory]
    [InlineData("Host=db.internal.example.com;Username=admin")]
    [InlineData("Host=10.0.0.12;Username=admin")]
    [InlineData("Host=localhost;Port=15432")]
    [InlineData("my-cluster.example.com")]
    public void Every_host_defaults_to_VerifyFull_unless_a_mode_is_chosen(string source)
    {
        Assert.Equal(SslMode.VerifyFull, DsqlConnectionOptions.Parse(source, "us-east-1").ToNpgsqlConnectionStringBuilder().SslMode);
        Assert.Equal(SslMode.Require, DsqlConnectionOptions.Parse(source + (source.Contains('=') ? ";SSL Mode=Require" : ""), "us-east-1")
            .WithSslMode(SslMode.Require).ToNpgsqlConnectionStringBuilder().SslMode);
    }
}
