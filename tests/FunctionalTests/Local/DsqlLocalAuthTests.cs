using Amazon;

namespace EFCore.Dsql.FunctionalTests.Local;

[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlLocalAuthTests(DsqlLocalFixture fixture)
{
    private AWSCredentials Credentials => new BasicAWSCredentials(fixture.Credential.AccessKeyId, fixture.Credential.SecretAccessKey);

    private static RegionEndpoint UsEast1 => RegionEndpoint.USEast1;

    [Fact]
    public async Task Admin_token_from_the_generator_logs_in_over_tls()
    {
        var token = DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(Credentials, UsEast1, "localhost");
        await using var connection = await OpenAsync("admin", token);
        await using var command = new NpgsqlCommand("SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("admin", reader.GetString(0));
        Assert.Equal("16.15", connection.ServerVersion);
    }

    [Fact]
    public async Task Token_signed_for_127_0_0_1_is_accepted_when_no_endpoint_is_configured()
    {
        var token = DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(Credentials, UsEast1, "127.0.0.1");
        await using var connection = await OpenAsync("admin", token);
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
    }

    [Fact]
    public async Task Other_role_logs_in_with_a_DbConnect_token()
    {
        // As on DSQL, admin creates the role and maps it to the connecting identity first.
        await fixture.CreateMappedRoleAsync("app_reader");
        var token = DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, UsEast1, "localhost");
        await using var connection = await OpenAsync("app_reader", token);
        await using var command = new NpgsqlCommand("SELECT current_user", connection);
        Assert.Equal("app_reader", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Temporary_credentials_with_a_session_token_are_accepted()
    {
        var credentials = new SessionAWSCredentials(fixture.Credential.AccessKeyId, fixture.Credential.SecretAccessKey, "FwoGZXIvYXdzEXAMPLE/session+token==");
        var token = DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(credentials, UsEast1, "localhost");
        await using var connection = await OpenAsync("admin", token);
        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
    }

    [Fact]
    public async Task Wrong_secret_is_refused_as_a_signature_mismatch()
    {
        var token = DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(
            new BasicAWSCredentials(fixture.Credential.AccessKeyId, "not-the-secret"), UsEast1, "localhost");
        await AssertRefusedAsync("admin", token, "28P01", "signature does not match");
    }

    [Fact]
    public async Task Unknown_access_key_is_refused()
    {
        var token = DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(new BasicAWSCredentials("AKIAUNKNOWN000000000", "x"), UsEast1, "localhost");
        var error = await AssertRefusedAsync("admin", token, "28P01", "signature does not match");
        // The same answer as a wrong secret: a refusal does not tell which access key IDs exist.
        Assert.DoesNotContain("AKIAUNKNOWN000000000", error.MessageText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("admin", true, "eu-west-1", "localhost", "region 'eu-west-1'")]
    [InlineData("admin", true, "us-east-1", "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws", "signed for host 'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws'")]
    [InlineData("admin", false, "us-east-1", "localhost", "needs Action=DbConnectAdmin")]
    [InlineData("app_writer", true, "us-east-1", "localhost", "needs Action=DbConnect")]
    public async Task A_token_for_another_region_host_or_action_is_refused(string user, bool adminAction, string region, string host, string message)
    {
        var endpoint = RegionEndpoint.GetBySystemName(region);
        var token = adminAction
            ? DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(Credentials, endpoint, host)
            : DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(Credentials, endpoint, host);
        await AssertRefusedAsync(user, token, "28000", message);
    }

    [Fact]
    public async Task Expired_token_is_refused()
    {
        var token = DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(
            Credentials, UsEast1, "localhost", TimeSpan.FromSeconds(900), new FixedClock(DateTimeOffset.UtcNow.AddHours(-1)));
        await AssertRefusedAsync("admin", token, "28P01", "expired");
    }

    [Fact]
    public async Task Token_that_expired_minutes_ago_gets_no_grace()
    {
        // Signed 3 minutes ago for 60 seconds: DSQL refuses expired tokens, with no clock-skew allowance after expiry.
        var token = DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(
            Credentials, UsEast1, "localhost", TimeSpan.FromSeconds(60), new FixedClock(DateTimeOffset.UtcNow.AddMinutes(-3)));
        await AssertRefusedAsync("admin", token, "28P01", "expired");
    }

    [Fact]
    public async Task Future_dated_token_is_refused()
    {
        var token = DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(
            Credentials, UsEast1, "localhost", null, new FixedClock(DateTimeOffset.UtcNow.AddHours(1)));
        await AssertRefusedAsync("admin", token, "28P01", "in the future");
    }

    [Theory]
    [InlineData("not-a-token")]
    [InlineData("localhost/?Action=DbConnectAdmin")]
    [InlineData("localhost/?Action=DbConnectAdmin&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=garbage&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=00")]
    public async Task Malformed_token_is_refused(string token)
        => await AssertRefusedAsync("admin", token, "28P01", "not a valid DSQL auth token");

    [Fact]
    public async Task Tampered_token_is_refused()
    {
        var token = DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(Credentials, UsEast1, "localhost");
        await AssertRefusedAsync("admin", token.Replace("X-Amz-Expires=900", "X-Amz-Expires=901", StringComparison.Ordinal), "28P01", "signature does not match");
    }

    [Fact]
    public async Task Plain_text_connection_is_refused_when_tls_is_on()
    {
        var builder = new NpgsqlConnectionStringBuilder(fixture.ConnectionString) { SslMode = SslMode.Disable, Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());
        Assert.Equal("28000", error.SqlState);
        Assert.Contains("SSL/TLS required", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_auth_mode_accepts_any_password_and_no_tls_mode_declines_tls()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { NoAuth = true, NoTls = true });
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = server.Host, Port = server.Port, Username = "admin", Password = "anything", Database = "postgres", SslMode = SslMode.Prefer, Pooling = false,
        };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", connection);
        Assert.Equal(false, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Configured_endpoint_and_credentials_are_what_tokens_must_match()
    {
        var options = new DsqlLocalOptions { Endpoint = "abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws", Region = "eu-west-1" };
        options.Credentials.Add(new DsqlLocalCredential("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
        await using var server = await DsqlLocalServer.StartAsync(options);
        var credentials = new BasicAWSCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");

        var good = DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(credentials, RegionEndpoint.EUWest1, options.Endpoint);
        await using (var connection = await OpenAsync("admin", good, server.Port))
        {
            Assert.Equal(System.Data.ConnectionState.Open, connection.State);
        }

        var localhost = DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(credentials, RegionEndpoint.EUWest1, "localhost");
        await AssertRefusedAsync("admin", localhost, "28000", "signed for host 'localhost'", server.Port);
    }

    private async Task<NpgsqlConnection> OpenAsync(string user, string token, int? port = null)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = port ?? fixture.Port, Username = user, Password = token, Database = "postgres",
            SslMode = SslMode.Require, Pooling = false,
        };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private async Task<PostgresException> AssertRefusedAsync(string user, string token, string sqlState, string reason, int? port = null)
    {
        var error = await Assert.ThrowsAsync<PostgresException>(async () => await (await OpenAsync(user, token, port)).DisposeAsync());
        Assert.Equal(sqlState, error.SqlState);
        Assert.Contains(reason, error.MessageText, StringComparison.Ordinal);
        Assert.Contains($"password authentication failed for user \"{user}\"", error.MessageText, StringComparison.Ordinal);
        var signature = token.IndexOf("X-Amz-Signature=", StringComparison.Ordinal);
        if (signature >= 0)
        {
            Assert.DoesNotContain(token[(signature + 16)..], error.MessageText, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(token, error.MessageText, StringComparison.Ordinal);
        return error;
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
