namespace EFCore.Dsql.UnitTests.Npgsql;

public class DsqlAuthTokenProviderTests
{
    private const string Endpoint = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";
    private static readonly DateTimeOffset SigningTime = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly BasicAWSCredentials Credentials = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");

    private static DsqlConnectionOptions Options(string username = "admin")
        => DsqlConnectionOptions.Parse(Endpoint).WithUsername(username).WithCredentials(Credentials)
            .WithTimeProvider(new FixedTimeProvider(SigningTime)).WithTokenDuration(TimeSpan.FromSeconds(300));

    [Fact]
    public void Admin_role_gets_the_generators_admin_token()
    {
        var token = new DsqlAuthTokenProvider(Options()).GenerateToken();

        Assert.Equal(
            DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(Credentials, RegionEndpoint.USEast1, Endpoint, TimeSpan.FromSeconds(300), new FixedTimeProvider(SigningTime)),
            token);
        Assert.StartsWith(Endpoint + "/?Action=DbConnectAdmin&", token, StringComparison.Ordinal);
        Assert.Contains("&X-Amz-Expires=300&", token, StringComparison.Ordinal);
        Assert.Contains("X-Amz-Credential=AKIDEXAMPLE%2F20261101%2Fus-east-1%2Fdsql%2Faws4_request", token, StringComparison.Ordinal);
    }

    [Fact]
    public void Other_roles_get_the_generators_db_connect_token()
    {
        var token = new DsqlAuthTokenProvider(Options("reader")).GenerateToken();

        Assert.Equal(
            DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, RegionEndpoint.USEast1, Endpoint, TimeSpan.FromSeconds(300), new FixedTimeProvider(SigningTime)),
            token);
        Assert.StartsWith(Endpoint + "/?Action=DbConnect&", token, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("admin")]
    [InlineData("reader")]
    public async Task Async_and_sync_paths_produce_the_same_token(string username)
    {
        var provider = new DsqlAuthTokenProvider(Options(username));

        Assert.Equal(provider.GenerateToken(), await provider.GenerateTokenAsync());
    }

    [Fact]
    public void Every_call_signs_a_new_token()
    {
        var clock = new SteppingTimeProvider(SigningTime, TimeSpan.FromSeconds(1));
        var provider = new DsqlAuthTokenProvider(Options().WithTimeProvider(clock));

        var tokens = Enumerable.Range(0, 5).Select(_ => provider.GenerateToken()).ToHashSet();

        Assert.Equal(5, tokens.Count);
    }

    [Fact]
    public void Session_credentials_add_the_security_token()
    {
        var provider = new DsqlAuthTokenProvider(Options().WithCredentials(new SessionAWSCredentials("ASIAEXAMPLE", "secret", "the/session+token")));

        Assert.Contains("X-Amz-Security-Token=the%2Fsession%2Btoken&", provider.GenerateToken(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelled_async_generation_throws_without_signing()
    {
        var provider = new DsqlAuthTokenProvider(Options().WithCredentials(new BlockingCredentials()));
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => provider.GenerateTokenAsync(cancellation.Token).AsTask());
    }

    [Fact]
    public void ToString_shows_no_secret()
    {
        var text = new DsqlAuthTokenProvider(Options()).ToString();

        Assert.DoesNotContain("wJalrXUtnFEMI", text, StringComparison.Ordinal);
        Assert.Contains(Endpoint, text, StringComparison.Ordinal);
    }

    private sealed class SteppingTimeProvider(DateTimeOffset start, TimeSpan step) : TimeProvider
    {
        private long _calls;

        public override DateTimeOffset GetUtcNow() => start + (step * Interlocked.Increment(ref _calls));
    }

    /// <summary>Credentials whose asynchronous resolution never completes (a hung credential endpoint).</summary>
    private sealed class BlockingCredentials : AWSCredentials
    {
        public override ImmutableCredentials GetCredentials() => throw new InvalidOperationException("The sync path must not be used.");

        public override Task<ImmutableCredentials> GetCredentialsAsync() => new TaskCompletionSource<ImmutableCredentials>().Task;
    }
}
