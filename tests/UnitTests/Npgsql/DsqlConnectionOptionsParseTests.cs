namespace EFCore.Dsql.UnitTests.Npgsql;

/// <summary>Forms whose region comes from the host or the string itself: no environment is consulted.</summary>
public class DsqlConnectionOptionsParseTests
{
    private const string ClusterId = "abcdefghijklmnopqrstuvwxyz";
    private const string Endpoint = ClusterId + ".dsql.us-east-1.on.aws";

    [Fact]
    public void Full_endpoint_yields_its_region_and_the_defaults()
    {
        var options = DsqlConnectionOptions.Parse(Endpoint);

        Assert.Equal(Endpoint, options.Host);
        Assert.Equal("us-east-1", options.Region);
        Assert.Equal("admin", options.Username);
        Assert.Equal("postgres", options.Database);
        Assert.Equal(5432, options.Port);
        Assert.Null(options.Profile);
        Assert.Equal(TimeSpan.FromSeconds(900), options.TokenDuration);
        Assert.Equal(ClusterId, options.ClusterId);
        Assert.True(options.IsDsqlEndpoint);
        Assert.True(options.IsAdmin);
        Assert.Null(options.SslMode);
        Assert.Null(options.ConnectionLifetime);
        Assert.Null(options.ApplicationName);
        Assert.Equal("", options.NpgsqlSettings);
    }

    [Theory]
    [InlineData("abcdefghijklmnopqrstuvwxyz.dsql-fnh4.eu-west-2.on.aws", "eu-west-2")]
    [InlineData("abcdefghijklmnopqrstuvwxyz.dsql.ap-southeast-5.on.aws", "ap-southeast-5")]
    [InlineData("abcdefghijklmnopqrstuvwxyz.dsql.us-gov-west-1.on.aws", "us-gov-west-1")]
    [InlineData("https://abcdefghijklmnopqrstuvwxyz.dsql.us-east-2.on.aws/", "us-east-2")]
    public void Region_is_read_from_public_and_privatelink_endpoints(string host, string region)
        => Assert.Equal(region, DsqlConnectionOptions.Parse(host).Region);

    [Fact]
    public void Scheme_and_trailing_slash_are_stripped_from_a_bare_endpoint()
        => Assert.Equal("abcdefghijklmnopqrstuvwxyz.dsql.us-east-2.on.aws", DsqlConnectionOptions.Parse("https://abcdefghijklmnopqrstuvwxyz.dsql.us-east-2.on.aws/").Host);

    [Fact]
    public void Bare_cluster_id_with_region_argument_expands_to_the_endpoint()
    {
        var options = DsqlConnectionOptions.Parse(ClusterId, "eu-central-1");

        Assert.Equal(ClusterId + ".dsql.eu-central-1.on.aws", options.Host);
        Assert.Equal("eu-central-1", options.Region);
        Assert.Equal(ClusterId, options.ClusterId);
    }

    [Fact]
    public void Uri_carries_user_port_database_and_dsql_parameters()
    {
        var options = DsqlConnectionOptions.Parse(
            $"postgresql://app_user@{Endpoint}:6543/postgres?profile=dev&token_duration_secs=300");

        Assert.Equal(Endpoint, options.Host);
        Assert.Equal("app_user", options.Username);
        Assert.False(options.IsAdmin);
        Assert.Equal(6543, options.Port);
        Assert.Equal("postgres", options.Database);
        Assert.Equal("dev", options.Profile);
        Assert.Equal(TimeSpan.FromSeconds(300), options.TokenDuration);
    }

    [Fact]
    public void Postgres_scheme_is_accepted_and_missing_parts_default()
    {
        var options = DsqlConnectionOptions.Parse($"postgres://{Endpoint}");

        Assert.Equal(Endpoint, options.Host);
        Assert.Equal("admin", options.Username);
        Assert.Equal(5432, options.Port);
        Assert.Equal("postgres", options.Database);
    }

    [Fact]
    public void Uri_with_cluster_id_host_and_region_parameter_expands_to_the_endpoint()
    {
        var options = DsqlConnectionOptions.Parse($"postgresql://admin@{ClusterId}/postgres?region=us-west-2");

        Assert.Equal(ClusterId + ".dsql.us-west-2.on.aws", options.Host);
        Assert.Equal("us-west-2", options.Region);
    }

    [Fact]
    public void Uri_libpq_parameters_pass_through_to_npgsql()
    {
        var options = DsqlConnectionOptions.Parse(
            $"postgresql://admin@{Endpoint}/postgres?sslmode=require&application_name=my%20app&connect_timeout=7&Maximum%20Pool%20Size=20");

        Assert.Equal(SslMode.Require, options.SslMode);
        Assert.Equal("my app", options.ApplicationName);
        Assert.Equal("Maximum Pool Size=20;Timeout=7", options.NpgsqlSettings);
    }

    [Theory]
    [InlineData("disable", SslMode.Disable)]
    [InlineData("prefer", SslMode.Prefer)]
    [InlineData("verify-ca", SslMode.VerifyCA)]
    [InlineData("verify-full", SslMode.VerifyFull)]
    public void Uri_sslmode_uses_libpq_spelling(string libpq, SslMode expected)
        => Assert.Equal(expected, DsqlConnectionOptions.Parse($"postgresql://{Endpoint}?sslmode={libpq}").SslMode);

    [Fact]
    public void Uri_percent_encoded_user_and_database_are_decoded()
    {
        var options = DsqlConnectionOptions.Parse($"postgresql://my%40user@{Endpoint}/my%2Fdb");

        Assert.Equal("my@user", options.Username);
        Assert.Equal("my/db", options.Database);
    }

    [Fact]
    public void Keyword_string_carries_npgsql_and_dsql_keys()
    {
        var options = DsqlConnectionOptions.Parse(
            $"Host={Endpoint};Port=5433;Username=reader;Database=postgres;Profile=prod;Token Duration Secs=60;Maximum Pool Size=5;Timeout=3;SSL Mode=VerifyCA;Connection Lifetime=600;Application Name=svc");

        Assert.Equal(Endpoint, options.Host);
        Assert.Equal(5433, options.Port);
        Assert.Equal("reader", options.Username);
        Assert.Equal("prod", options.Profile);
        Assert.Equal(TimeSpan.FromSeconds(60), options.TokenDuration);
        Assert.Equal(SslMode.VerifyCA, options.SslMode);
        Assert.Equal(TimeSpan.FromSeconds(600), options.ConnectionLifetime);
        Assert.Equal("svc", options.ApplicationName);
        Assert.Equal("Maximum Pool Size=5;Timeout=3", options.NpgsqlSettings);
    }

    [Theory]
    [InlineData("Region")]
    [InlineData("region")]
    public void Keyword_string_region_key_expands_a_cluster_id(string key)
    {
        var options = DsqlConnectionOptions.Parse($"Host={ClusterId};{key}=ap-northeast-1;User Id=admin");

        Assert.Equal(ClusterId + ".dsql.ap-northeast-1.on.aws", options.Host);
        Assert.Equal("ap-northeast-1", options.Region);
    }

    [Theory]
    [InlineData("TokenDurationSecs")]
    [InlineData("token_duration_secs")]
    [InlineData("Token Duration")]
    public void Keyword_string_accepts_token_duration_spellings(string key)
        => Assert.Equal(TimeSpan.FromSeconds(42), DsqlConnectionOptions.Parse($"Host={Endpoint};{key}=42").TokenDuration);

    [Fact]
    public void Npgsql_keyword_synonyms_are_canonicalised_and_sorted()
        => Assert.Equal(
            DsqlConnectionOptions.Parse($"Host={Endpoint};Timeout=3;MaxPoolSize=5"),
            DsqlConnectionOptions.Parse($"Server={Endpoint};Maximum Pool Size=5;timeout=3"));

    [Fact]
    public void Region_argument_agreeing_with_the_endpoint_is_accepted()
        => Assert.Equal("us-east-1", DsqlConnectionOptions.Parse(Endpoint, "us-east-1").Region);

    [Fact]
    public void Non_dsql_host_with_region_argument_keeps_the_host()
    {
        var options = DsqlConnectionOptions.Parse("Host=localhost;Port=15432;SSL Mode=Disable", "us-east-1");

        Assert.Equal("localhost", options.Host);
        Assert.Equal("us-east-1", options.Region);
        Assert.False(options.IsDsqlEndpoint);
        Assert.Null(options.ClusterId);
        Assert.Equal(SslMode.Disable, options.SslMode);
    }

    public static TheoryData<string, string?, Type, string> BadInputs() => new()
    {
        { "", null, typeof(ArgumentException), "empty" },
        { "   ", null, typeof(ArgumentException), "empty" },
        { "Username=admin;Database=postgres", null, typeof(ArgumentException), "host is empty" },
        { "postgresql:///postgres?region=us-east-1", null, typeof(ArgumentException), "host is empty" },
        { "mysql://admin@" + Endpoint, null, typeof(FormatException), "only 'postgresql://' and 'postgres://'" },
        { "postgresql://admin:secret@" + Endpoint + "/postgres", null, typeof(ArgumentException), "remove the password" },
        { "postgresql://admin@" + Endpoint + "/postgres?password=secret", null, typeof(ArgumentException), "remove the password" },
        { "Host=" + Endpoint + ";Password=secret", null, typeof(ArgumentException), "remove the password" },
        { "postgresql://admin@" + Endpoint + ":99999/postgres", null, typeof(ArgumentException), "99999" },
        { "postgresql://admin@" + Endpoint + ":abc/postgres", null, typeof(ArgumentException), "'abc'" },
        { "postgresql://admin@h1,h2/postgres?region=us-east-1", null, typeof(FormatException), "several hosts" },
        { "postgresql://admin@" + Endpoint + "/a/b", null, typeof(FormatException), "more than one segment" },
        { "postgresql://admin@" + Endpoint + "/postgres?flag", null, typeof(FormatException), "'flag' has no value" },
        { "postgresql://admin@" + Endpoint + "/postgres?bogus_param=1", null, typeof(ArgumentException), "'bogus_param'" },
        { "postgresql://admin@" + Endpoint + "/postgres?sslmode=sometimes", null, typeof(ArgumentException), "'sometimes'" },
        { "postgresql://admin@" + Endpoint + "/postgres#frag", null, typeof(FormatException), "fragment" },
        { "postgresql://admin@[::1/postgres", null, typeof(FormatException), "closing ']'" },
        { "Host=" + Endpoint + ";Region Name=us-east-1", null, typeof(ArgumentException), "'region name'" },
        { "Host=" + Endpoint + ";Token Duration Secs=abc", null, typeof(FormatException), "'abc'" },
        { "Host=" + Endpoint + ";Token Duration Secs=-5", null, typeof(ArgumentOutOfRangeException), "-5" },
        { "Host=" + Endpoint + ";Token Duration Secs=0", null, typeof(ArgumentOutOfRangeException), "out of range" },
        { "postgresql://" + Endpoint + "?token_duration_secs=604801", null, typeof(ArgumentOutOfRangeException), "604801" },
        { "postgresql://" + Endpoint + "?token_duration_secs=99999999999999999999", null, typeof(FormatException), "99999999999999999999" },
        { "postgresql://" + Endpoint + "?token_duration_secs=1.5", null, typeof(FormatException), "'1.5'" },
        { Endpoint, "us-west-2", typeof(ArgumentException), "is in region 'us-east-1', but region 'us-west-2'" },
        { Endpoint, "useast1", typeof(ArgumentException), "'useast1'" },
        { ClusterId, "US-EAST-1", typeof(ArgumentException), "'US-EAST-1'" },
        { "postgresql://" + ClusterId + "?region=mars", null, typeof(ArgumentException), "'mars'" },
        { "postgresql://" + ClusterId + "?region=us-east-1", "us-west-2", typeof(ArgumentException), "contradicts" },
        { "abcdefghijklmnopqrstuvwxyz.dsql.nowhere.on.aws", null, typeof(ArgumentException), "'nowhere'" },
        { "my host.example.com", "us-east-1", typeof(ArgumentException), "not a host name" },
        { "Host=a;Host Name=b;", null, typeof(ArgumentException), "'host name'" },
        { "Host='unterminated", null, typeof(FormatException), "malformed" },
        { "postgresql://admin@" + Endpoint + "/postgres?region=", null, typeof(ArgumentException), "'region' setting is empty" },
        { "postgresql://admin@" + Endpoint + "/postgres?profile=", null, typeof(ArgumentException), "'profile' setting is empty" },
        { "Host=" + Endpoint + ";Region=", null, typeof(ArgumentException), "'Region' setting is empty" },
        { "Host=" + Endpoint + ";Profile= ", null, typeof(ArgumentException), "'Profile' setting is empty" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Bad_input_gets_an_exception_naming_the_problem(string input, string? region, Type exceptionType, string messagePart)
    {
        var exception = Assert.ThrowsAny<Exception>(() => DsqlConnectionOptions.Parse(input, region));

        Assert.IsType(exceptionType, exception);
        Assert.Contains(messagePart, exception.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_input_is_an_argument_null_exception()
        => Assert.Throws<ArgumentNullException>(() => DsqlConnectionOptions.Parse(null!));
}
