namespace EFCore.Dsql.UnitTests.Npgsql;

/// <summary>Region and credential resolution from the AWS environment: variables and shared config/credentials files.</summary>
[Collection(AwsEnvironmentCollection.Name)]
public class AwsEnvironmentTests
{
    private const string ClusterId = "abcdefghijklmnopqrstuvwxyz";
    private const string Endpoint = ClusterId + ".dsql.us-east-1.on.aws";

    [Fact]
    public void Cluster_id_takes_the_region_from_AWS_REGION()
    {
        using var env = new AwsEnvironmentScope().Set("AWS_REGION", "eu-west-3").Set("AWS_DEFAULT_REGION", "us-west-1");

        Assert.Equal(ClusterId + ".dsql.eu-west-3.on.aws", DsqlConnectionOptions.Parse(ClusterId).Host);
    }

    [Fact]
    public void Cluster_id_falls_back_to_AWS_DEFAULT_REGION()
    {
        using var env = new AwsEnvironmentScope().Set("AWS_DEFAULT_REGION", "us-west-1");

        Assert.Equal("us-west-1", DsqlConnectionOptions.Parse(ClusterId).Region);
    }

    [Fact]
    public void Cluster_id_falls_back_to_the_default_profiles_region()
    {
        using var env = new AwsEnvironmentScope().WithConfigProfile("default", region: "ap-south-1");

        Assert.Equal("ap-south-1", DsqlConnectionOptions.Parse(ClusterId).Region);
    }

    [Fact]
    public void Cluster_id_uses_the_named_profiles_region()
    {
        using var env = new AwsEnvironmentScope()
            .WithConfigProfile("default", region: "ap-south-1")
            .WithConfigProfile("dev", region: "ca-central-1");

        Assert.Equal("ca-central-1", DsqlConnectionOptions.Parse($"postgresql://{ClusterId}?profile=dev").Region);
    }

    [Fact]
    public void AWS_PROFILE_selects_the_profile_whose_region_is_used()
    {
        using var env = new AwsEnvironmentScope()
            .WithConfigProfile("default", region: "ap-south-1")
            .WithConfigProfile("dev", region: "ca-central-1")
            .Set("AWS_PROFILE", "dev");

        Assert.Equal("ca-central-1", DsqlConnectionOptions.Parse(ClusterId).Region);
    }

    [Fact]
    public void Region_argument_beats_the_environment()
    {
        using var env = new AwsEnvironmentScope().Set("AWS_REGION", "eu-west-3");

        Assert.Equal("sa-east-1", DsqlConnectionOptions.Parse(ClusterId, "sa-east-1").Region);
    }

    [Fact]
    public void Endpoint_region_beats_the_environment()
    {
        using var env = new AwsEnvironmentScope().Set("AWS_REGION", "eu-west-3");

        Assert.Equal("us-east-1", DsqlConnectionOptions.Parse(Endpoint).Region);
    }

    [Fact]
    public void Cluster_id_without_any_region_is_a_clear_error()
    {
        using var env = new AwsEnvironmentScope();

        var exception = Assert.Throws<ArgumentException>(() => DsqlConnectionOptions.Parse(ClusterId));

        Assert.Contains($"cluster ID '{ClusterId}' needs a region", exception.Message, StringComparison.Ordinal);
        Assert.Contains("AWS_REGION", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_dsql_host_without_any_region_is_a_clear_error()
    {
        using var env = new AwsEnvironmentScope();

        var exception = Assert.Throws<ArgumentException>(() => DsqlConnectionOptions.Parse("Host=localhost;Port=5433"));

        Assert.Contains("'localhost' is not a DSQL endpoint", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_region_in_the_environment_is_named()
    {
        using var env = new AwsEnvironmentScope().Set("AWS_REGION", "Virginia");

        var exception = Assert.Throws<ArgumentException>(() => DsqlConnectionOptions.Parse(ClusterId));

        Assert.Contains("'Virginia' (from the AWS_REGION environment variable)", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Callers_credentials_beat_the_profile_and_the_default_chain()
    {
        using var env = WithAllThreeSources();
        var options = DsqlConnectionOptions.Parse(Endpoint).WithProfile("dev").WithCredentials(new BasicAWSCredentials("AKIDCALLER", "callerSecret"));

        Assert.Equal("AKIDCALLER", AccessKeyOf(new DsqlAuthTokenProvider(options).GenerateToken()));
    }

    [Fact]
    public async Task Profile_beats_the_default_chain()
    {
        using var env = WithAllThreeSources();
        var provider = new DsqlAuthTokenProvider(DsqlConnectionOptions.Parse($"Host={Endpoint};Profile=dev"));

        Assert.Equal("AKIDPROFILE", AccessKeyOf(provider.GenerateToken()));
        Assert.Equal("AKIDPROFILE", AccessKeyOf(await provider.GenerateTokenAsync()));
    }

    [Fact]
    public void Profile_credentials_may_live_in_the_config_file()
    {
        using var env = new AwsEnvironmentScope().WithConfigProfile("cfg", accessKeyId: "AKIDCONFIG", secretAccessKey: "configSecret");

        Assert.Equal("AKIDCONFIG", AccessKeyOf(new DsqlAuthTokenProvider(DsqlConnectionOptions.Parse(Endpoint).WithProfile("cfg")).GenerateToken()));
    }

    [Fact]
    public async Task Default_chain_reads_environment_variables()
    {
        using var env = WithAllThreeSources();
        var provider = new DsqlAuthTokenProvider(DsqlConnectionOptions.Parse(Endpoint));

        Assert.Equal("AKIDENVIRONMENT", AccessKeyOf(await provider.GenerateTokenAsync()));
        Assert.Equal("AKIDENVIRONMENT", AccessKeyOf(provider.GenerateToken()));
    }

    [Fact]
    public void Default_chain_reads_the_default_profile()
    {
        using var env = new AwsEnvironmentScope().WithCredentialsProfile("default", "AKIDDEFAULTPROFILE", "defaultSecret");

        Assert.Equal("AKIDDEFAULTPROFILE", AccessKeyOf(new DsqlAuthTokenProvider(DsqlConnectionOptions.Parse(Endpoint)).GenerateToken()));
    }

    [Fact]
    public void Credentials_are_resolved_once_and_reused()
    {
        using var env = new AwsEnvironmentScope().Set("AWS_ACCESS_KEY_ID", "AKIDFIRST").Set("AWS_SECRET_ACCESS_KEY", "firstSecret");
        var provider = new DsqlAuthTokenProvider(DsqlConnectionOptions.Parse(Endpoint));
        var first = provider.GetCredentials();
        _ = provider.GenerateToken();

        Assert.Same(first, provider.GetCredentials());
    }

    [Fact]
    public void Missing_profile_fails_when_the_provider_or_data_source_is_created()
    {
        using var env = new AwsEnvironmentScope().WithCredentialsProfile("dev", "AKIDPROFILE", "profileSecret");

        var fromProvider = Assert.Throws<ArgumentException>(() => new DsqlAuthTokenProvider(DsqlConnectionOptions.Parse(Endpoint).WithProfile("nope")));
        var fromDataSource = Assert.Throws<ArgumentException>(() => DsqlDataSource.Create($"Host={Endpoint};Profile=nope"));

        Assert.Contains("AWS profile 'nope' was not found", fromProvider.Message, StringComparison.Ordinal);
        Assert.Contains(env.CredentialsFile, fromProvider.Message, StringComparison.Ordinal);
        Assert.Contains("'nope'", fromDataSource.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_credentials_anywhere_is_a_clear_error_on_first_token()
    {
        using var env = new AwsEnvironmentScope();
        var provider = new DsqlAuthTokenProvider(DsqlConnectionOptions.Parse(Endpoint));

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => provider.GenerateTokenAsync().AsTask());

        Assert.Contains("No AWS credentials were found", exception.Message, StringComparison.Ordinal);
    }

    private static AwsEnvironmentScope WithAllThreeSources()
        => new AwsEnvironmentScope()
            .Set("AWS_ACCESS_KEY_ID", "AKIDENVIRONMENT")
            .Set("AWS_SECRET_ACCESS_KEY", "environmentSecret")
            .WithCredentialsProfile("dev", "AKIDPROFILE", "profileSecret");

    private static string AccessKeyOf(string token)
    {
        const string marker = "X-Amz-Credential=";
        var start = token.IndexOf(marker, StringComparison.Ordinal) + marker.Length;
        return token[start..token.IndexOf("%2F", start, StringComparison.Ordinal)];
    }
}
