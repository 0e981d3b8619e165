namespace EFCore.Dsql.UnitTests.Npgsql;

public class DsqlAuthTokenGeneratorBehaviourTests
{
    private const string Host = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";
    private static readonly BasicAWSCredentials Credentials = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    private static readonly FixedTimeProvider Clock = new(new DateTimeOffset(2026, 11, 26, 1, 2, 3, TimeSpan.Zero));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(604_801)]
    public void Lifetime_outside_one_second_to_seven_days_is_out_of_range(int seconds)
    {
        var exception = Assert.Throws<ArgumentOutOfRangeException>(
            () => DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, RegionEndpoint.USEast1, Host, TimeSpan.FromSeconds(seconds)));

        Assert.Equal("expiresIn", exception.ParamName);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(604_800)]
    public void Lifetime_bounds_are_inclusive_and_signed_into_the_token(int seconds)
        => Assert.Contains(
            $"&X-Amz-Expires={seconds}&",
            DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, RegionEndpoint.USEast1, Host, TimeSpan.FromSeconds(seconds), Clock),
            StringComparison.Ordinal);

    [Fact]
    public void Default_lifetime_is_900_seconds()
        => Assert.Contains("&X-Amz-Expires=900&", DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, RegionEndpoint.USEast1, Host), StringComparison.Ordinal);

    [Fact]
    public void Fractional_lifetime_is_refused()
        => Assert.Throws<ArgumentOutOfRangeException>(
            () => DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, RegionEndpoint.USEast1, Host, TimeSpan.FromMilliseconds(900_500)));

    [Fact]
    public void Admin_and_db_connect_tokens_differ_only_by_action_and_signature()
    {
        var admin = DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(Credentials, RegionEndpoint.USEast1, Host, null, Clock);
        var user = DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, RegionEndpoint.USEast1, Host, null, Clock);

        Assert.StartsWith($"{Host}/?Action=DbConnectAdmin&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261126%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20261126T010203Z&X-Amz-Expires=900&X-Amz-Signature=", admin, StringComparison.Ordinal);
        Assert.StartsWith($"{Host}/?Action=DbConnect&X-Amz-Algorithm=", user, StringComparison.Ordinal);
        Assert.EndsWith("&X-Amz-SignedHeaders=host", admin, StringComparison.Ordinal);
        Assert.NotEqual(admin[admin.IndexOf("X-Amz-Signature", StringComparison.Ordinal)..], user[user.IndexOf("X-Amz-Signature", StringComparison.Ordinal)..]);
    }

    [Fact]
    public void Https_scheme_and_trailing_slash_are_ignored()
        => Assert.Equal(
            DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, RegionEndpoint.USEast1, Host, null, Clock),
            DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, RegionEndpoint.USEast1, "https://" + Host + "/", null, Clock));

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("host/path")]
    [InlineData("user@host")]
    [InlineData("host?x=1")]
    public void Non_host_names_are_refused(string hostname)
        => Assert.Throws<ArgumentException>(() => DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, RegionEndpoint.USEast1, hostname));

    [Fact]
    public void Null_arguments_are_refused()
    {
        Assert.Throws<ArgumentNullException>(() => DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(null!, RegionEndpoint.USEast1, Host));
        Assert.Throws<ArgumentNullException>(() => DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, null!, Host));
        Assert.Throws<ArgumentNullException>(() => DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, RegionEndpoint.USEast1, null!));
    }

    [Fact]
    public async Task Async_twins_produce_the_same_tokens()
    {
        Assert.Equal(
            DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, RegionEndpoint.EUWest1, Host, TimeSpan.FromSeconds(60), Clock),
            await DsqlAuthTokenGenerator.GenerateDbConnectAuthTokenAsync(Credentials, RegionEndpoint.EUWest1, Host, TimeSpan.FromSeconds(60), Clock));
        Assert.Equal(
            DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(Credentials, RegionEndpoint.EUWest1, Host, TimeSpan.FromSeconds(60), Clock),
            await DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthTokenAsync(Credentials, RegionEndpoint.EUWest1, Host, TimeSpan.FromSeconds(60), Clock));
    }

    [Fact]
    public async Task Provider_returning_no_credentials_is_a_clear_error()
    {
        var sync = Assert.Throws<InvalidOperationException>(
            () => DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(new NoCredentials(), RegionEndpoint.USEast1, Host));
        var async = await Assert.ThrowsAsync<InvalidOperationException>(
            () => DsqlAuthTokenGenerator.GenerateDbConnectAuthTokenAsync(new NoCredentials(), RegionEndpoint.USEast1, Host).AsTask());

        Assert.Contains("NoCredentials returned no credentials", sync.Message, StringComparison.Ordinal);
        Assert.Contains("NoCredentials returned no credentials", async.Message, StringComparison.Ordinal);
    }

    /// <summary>A misbehaving custom provider that yields nothing.</summary>
    private sealed class NoCredentials : AWSCredentials
    {
        public override ImmutableCredentials GetCredentials() => null!;

        public override Task<ImmutableCredentials> GetCredentialsAsync() => Task.FromResult<ImmutableCredentials>(null!);
    }
}
