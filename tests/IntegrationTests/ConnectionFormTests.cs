using Amazon.Runtime;

namespace EFCore.Dsql.IntegrationTests;

/// <summary>Every connection form the README shows reaches the cluster, as the role it names.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ConnectionFormTests(ClusterFixture fixture)
{
    private ClusterTarget Target => fixture.Target;

    [ClusterFact]
    public async Task Cluster_endpoint_form_connects_as_admin_over_verify_full_direct_tls()
    {
        Skip.When(Target.WhyNoClusterHostName);

        var settings = DsqlDataSource.CreateBuilder(Target.Options.Host).ConnectionStringBuilder;
        Assert.Equal((SslMode.VerifyFull, SslNegotiation.Direct, 5432), (settings.SslMode, settings.SslNegotiation, settings.Port));

        await using var dataSource = Target.CreateDataSource(Target.Options.Host);
        Assert.Equal("admin", await CurrentUserAsync(dataSource));
    }

    [ClusterFact]
    public async Task Cluster_id_and_region_form_connects_to_the_same_endpoint()
    {
        Skip.When(Target.WhyNoClusterHostName);

        var clusterId = Target.Options.ClusterId!;
        Assert.Equal(Target.Options.Host, DsqlConnectionOptions.Parse(clusterId, Target.Options.Region).Host);
        await using var dataSource = Target.CreateDataSource(clusterId, Target.Options.Region);
        Assert.Equal("admin", await CurrentUserAsync(dataSource));
    }

    [ClusterFact]
    public async Task Cluster_id_form_takes_its_region_from_AWS_REGION()
    {
        Skip.When(Target.WhyNoClusterHostName);

        using (EnvironmentOverride.Set(("AWS_REGION", Target.Options.Region), ("AWS_DEFAULT_REGION", null)))
        {
            await using var dataSource = Target.CreateDataSource(Target.Options.ClusterId!);
            Assert.Equal("admin", await CurrentUserAsync(dataSource));
        }
    }

    [ClusterFact]
    public async Task Uri_form_with_user_and_token_duration_connects_with_tokens_of_that_lifetime()
    {
        var uri = Uri("admin", "token_duration_secs=300");

        var options = DsqlConnectionOptions.Parse(uri);
        Assert.Equal(TimeSpan.FromSeconds(300), options.TokenDuration);
        Assert.Contains("X-Amz-Expires=300&", new DsqlAuthTokenProvider(options).GenerateToken() + "&", StringComparison.Ordinal);
        await using var dataSource = Target.CreateDataSource(uri);
        Assert.Equal("admin", await CurrentUserAsync(dataSource));
    }

    [ClusterFact]
    public async Task Keyword_string_form_connects_with_its_pool_and_timeout_settings()
    {
        var keywords = $"Host={Target.Options.Host};Port={Target.Options.Port};Username=admin;Database=postgres;Maximum Pool Size=20;Timeout=10" +
                       (Target.HasClusterHostName || Target.Options.SslMode is not { } sslMode ? "" : $";SSL Mode={sslMode}");

        await using var dataSource = Target.CreateDataSource(keywords, Target.HasClusterHostName ? null : Target.Options.Region);
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Assert.Equal((20, 10), (settings.MaxPoolSize, settings.Timeout));
        Assert.Equal("admin", await CurrentUserAsync(dataSource));
    }

    [ClusterFact]
    public async Task Profile_form_signs_with_the_named_profiles_credentials()
    {
        var profile = TestProfiles.Name ?? Environment.GetEnvironmentVariable("AWS_PROFILE");
        Skip.When(profile is null
            ? "No AWS profile to connect with: set AWS_PROFILE, or give the credentials as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (the suite then writes a profile of its own)."
            : null);

        await using var dataSource = Target.CreateDataSource(Uri("admin", "profile=" + profile));
        Assert.Equal(profile, DsqlConnectionOptions.Parse(Uri("admin", "profile=" + profile)).Profile);
        Assert.Equal("admin", await CurrentUserAsync(dataSource));
    }

    [ClusterFact]
    public async Task Profile_form_signs_with_that_profile_rather_than_the_environments_credentials()
    {
        Skip.When(TestProfiles.WrongSecretName is null
            ? "The suite writes its own profiles only when the credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and AWS_SHARED_CREDENTIALS_FILE is not set."
            : null);

        // The environment's access key with a wrong secret under a profile name: refused, so the profile signed, not the environment.
        await using var wrong = Target.CreateDataSource(Uri("admin", "profile=" + TestProfiles.WrongSecretName));
        var refused = await Assert.ThrowsAsync<PostgresException>(() => CurrentUserAsync(wrong));
        Assert.StartsWith("28", refused.SqlState, StringComparison.Ordinal);
    }

    [ClusterFact]
    public async Task DsqlConnection_OpenAsync_opens_a_ready_connection_in_one_line()
    {
        Skip.When(WhyNoOneLiner);

        await using var connection = await DsqlConnection.OpenAsync(Target.Endpoint);
        Assert.Equal("admin", connection.UserName);
        await using var command = new NpgsqlCommand("SELECT 41 + 1", connection);
        Assert.Equal(42, await command.ExecuteScalarAsync());
    }

    [ClusterFact]
    public void DsqlConnection_Open_opens_a_ready_connection_synchronously()
    {
        Skip.When(WhyNoOneLiner);

        using var connection = DsqlConnection.Open(Target.Endpoint);
        using var command = new NpgsqlCommand("SELECT current_user", connection);
        Assert.Equal("admin", command.ExecuteScalar());
    }

    [ClusterFact]
    public async Task Token_signed_with_a_wrong_secret_is_refused_with_an_authorization_error()
    {
        var keys = await (await new DsqlAuthTokenProvider(Target.Options).GetCredentialsAsync()).GetCredentialsAsync();
        var wrong = Target.Options.WithCredentials(new BasicAWSCredentials(keys.AccessKey, "wrong-secret"));

        await using var dataSource = Target.CreateDataSource(wrong, b => b.Pooling = false);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => CurrentUserAsync(dataSource));
        Assert.StartsWith("28", refused.SqlState, StringComparison.Ordinal);
        Assert.DoesNotContain("X-Amz-Signature", refused.Message, StringComparison.Ordinal);
    }

    private string? WhyNoOneLiner => Target.Tunnel is null ? null :
        $"DsqlConnection.Open connects to the options' own host, so it cannot go through {ClusterTarget.TunnelVariable}; it runs when the cluster is reached directly.";

    private string Uri(string user, string dsqlSetting)
    {
        var query = $"region={Target.Options.Region}&{dsqlSetting}";
        if (!Target.HasClusterHostName && Target.Options.SslMode is { } sslMode)
        {
            query += "&sslmode=" + sslMode switch
            {
                SslMode.VerifyFull => "verify-full",
                SslMode.VerifyCA => "verify-ca",
                _ => sslMode.ToString().ToLowerInvariant()
            };
        }

        return $"postgresql://{user}@{Target.Options.Host}:{Target.Options.Port}/postgres?{query}";
    }

    private static async Task<string> CurrentUserAsync(NpgsqlDataSource dataSource)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT current_user", connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
