namespace EFCore.Dsql.UnitTests.Npgsql;

public class DsqlConnectionOptionsTests
{
    private const string Endpoint = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";
    private static readonly DsqlConnectionOptions Base = DsqlConnectionOptions.Parse(Endpoint);

    public static TheoryData<string> Variants() => new()
    {
        "host", "region", "username", "database", "port", "profile", "tokenDuration", "credentials", "timeProvider",
        "sslMode", "connectionLifetime", "applicationName", "npgsql",
    };

    private static DsqlConnectionOptions Change(DsqlConnectionOptions o, string setting) => setting switch
    {
        "host" => o.WithHost("zyxwvutsrqponmlkjihgfedcba.dsql.us-east-1.on.aws"),
        "region" => o.WithHost("localhost").WithRegion("us-west-2"),
        "username" => o.WithUsername("reader"),
        "database" => o.WithDatabase("other"),
        "port" => o.WithPort(6432),
        "profile" => o.WithProfile("dev"),
        "tokenDuration" => o.WithTokenDuration(TimeSpan.FromSeconds(60)),
        "credentials" => o.WithCredentials(new BasicAWSCredentials("AKIDEXAMPLE", "secretExample")),
        "timeProvider" => o.WithTimeProvider(new FixedTimeProvider(DateTimeOffset.UnixEpoch)),
        "sslMode" => o.WithSslMode(SslMode.Require),
        "connectionLifetime" => o.WithConnectionLifetime(TimeSpan.FromSeconds(60)),
        "applicationName" => o.WithApplicationName("svc"),
        "npgsql" => o.WithNpgsqlSettings(b => b.MaxPoolSize = 7),
        _ => throw new ArgumentOutOfRangeException(nameof(setting)),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Every_setting_takes_part_in_equality_and_hash(string setting)
    {
        var changed = Change(Base, setting);
        var sameChange = Change(Base, setting);

        Assert.NotEqual(Base, changed);
        Assert.False(Base == changed);
        Assert.True(Base != changed);
        if (setting is not ("credentials" or "timeProvider"))
        {
            // Separately built but equal options are interchangeable as cache keys.
            Assert.Equal(changed, sameChange);
            Assert.Equal(changed.GetHashCode(), sameChange.GetHashCode());
        }
    }

    [Fact]
    public void With_methods_leave_the_original_unchanged()
    {
        _ = Base.WithUsername("reader").WithPort(1).WithSslMode(SslMode.Disable).WithNpgsqlSettings(b => b.Timeout = 3);

        Assert.Equal(DsqlConnectionOptions.Parse(Endpoint), Base);
        Assert.Equal("admin", Base.Username);
        Assert.Equal(5432, Base.Port);
        Assert.Null(Base.SslMode);
        Assert.Equal("", Base.NpgsqlSettings);
    }

    [Fact]
    public void Credentials_are_compared_by_reference()
    {
        var first = new BasicAWSCredentials("AKIDEXAMPLE", "secretExample");
        var second = new BasicAWSCredentials("AKIDEXAMPLE", "secretExample");

        Assert.Equal(Base.WithCredentials(first), Base.WithCredentials(first));
        Assert.NotEqual(Base.WithCredentials(first), Base.WithCredentials(second));
    }

    [Fact]
    public void Parsed_and_built_options_are_equal()
        => Assert.Equal(
            DsqlConnectionOptions.Parse($"postgresql://reader@{Endpoint}:6543/postgres?profile=dev&token_duration_secs=60&sslmode=require&Timeout=3"),
            Base.WithUsername("reader").WithPort(6543).WithProfile("dev").WithTokenDuration(TimeSpan.FromSeconds(60))
                .WithSslMode(SslMode.Require).WithNpgsqlSettings(b => b.Timeout = 3));

    [Fact]
    public void ToString_reads_back_into_equal_options()
    {
        var options = Base.WithUsername("app user").WithProfile("dev").WithSslMode(SslMode.VerifyCA)
            .WithConnectionLifetime(TimeSpan.FromSeconds(120)).WithApplicationName("svc;1").WithNpgsqlSettings(b => b.MaxPoolSize = 3);

        Assert.Equal(options, DsqlConnectionOptions.Parse(options.ToString()));
    }

    [Fact]
    public void ToString_never_shows_a_secret()
    {
        var options = Base
            .WithCredentials(new SessionAWSCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", "SESSIONTOKENVALUE"))
            .WithNpgsqlSettings(b => b.SslPassword = "keypassphrase");

        var text = options.ToString();

        Assert.DoesNotContain("wJalrXUtnFEMI", text, StringComparison.Ordinal);
        Assert.DoesNotContain("SESSIONTOKENVALUE", text, StringComparison.Ordinal);
        Assert.DoesNotContain("keypassphrase", text, StringComparison.Ordinal);
        Assert.Contains("SessionAWSCredentials", text, StringComparison.Ordinal);
    }

    [Fact]
    public void WithHost_with_a_cluster_id_keeps_the_region()
        => Assert.Equal("zyxwvutsrqponmlkjihgfedcba.dsql.us-east-1.on.aws", Base.WithHost("zyxwvutsrqponmlkjihgfedcba").Host);

    [Fact]
    public void WithHost_with_an_endpoint_takes_its_region()
        => Assert.Equal("eu-west-1", Base.WithHost("zyxwvutsrqponmlkjihgfedcba.dsql.eu-west-1.on.aws").Region);

    [Fact]
    public void WithRegion_refuses_to_contradict_the_endpoint()
    {
        var exception = Assert.Throws<ArgumentException>(() => Base.WithRegion("eu-west-1"));
        Assert.Contains("'us-east-1'", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(604_801)]
    public void WithTokenDuration_refuses_out_of_range_lifetimes(int seconds)
        => Assert.Throws<ArgumentOutOfRangeException>(() => Base.WithTokenDuration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void WithTokenDuration_refuses_fractional_seconds()
        => Assert.Throws<ArgumentOutOfRangeException>(() => Base.WithTokenDuration(TimeSpan.FromMilliseconds(1500)));

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public void WithPort_refuses_non_ports(int port)
        => Assert.Throws<ArgumentOutOfRangeException>(() => Base.WithPort(port));

    [Fact]
    public void WithConnectionLifetime_refuses_negative_lifetimes()
        => Assert.Throws<ArgumentOutOfRangeException>(() => Base.WithConnectionLifetime(TimeSpan.FromSeconds(-1)));

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    public void WithUsername_refuses_empty_names(string name)
        => Assert.Throws<ArgumentException>(() => Base.WithUsername(name));

    [Theory]
    [InlineData("Host")]
    [InlineData("Port")]
    [InlineData("Username")]
    [InlineData("Database")]
    [InlineData("Password")]
    public void WithNpgsqlSettings_refuses_identity_and_password_keywords(string keyword)
    {
        var exception = Assert.Throws<ArgumentException>(() => Base.WithNpgsqlSettings(b => b[keyword] = keyword == "Port" ? "1" : "x"));
        Assert.DoesNotContain("=x", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithNpgsqlSettings_lifts_ssl_mode_lifetime_and_application_name_into_options()
    {
        var options = Base.WithNpgsqlSettings(b =>
        {
            b.SslMode = SslMode.Require;
            b.ConnectionLifetime = 10;
            b.ApplicationName = "svc";
            b.CommandTimeout = 5;
        });

        Assert.Equal(SslMode.Require, options.SslMode);
        Assert.Equal(TimeSpan.FromSeconds(10), options.ConnectionLifetime);
        Assert.Equal("svc", options.ApplicationName);
        Assert.Equal("Command Timeout=5", options.NpgsqlSettings);
    }

    [Fact]
    public void Admin_is_exactly_the_admin_role()
    {
        Assert.True(Base.IsAdmin);
        Assert.False(Base.WithUsername("Admin").IsAdmin);
        Assert.False(Base.WithUsername("reader").IsAdmin);
    }

    [Fact]
    public void Default_application_name_names_the_connector_and_its_version()
        => Assert.Matches(@"^dsql-npgsql/\d+\.\d+\.\d+", DsqlConnectionOptions.DefaultApplicationName);
}
