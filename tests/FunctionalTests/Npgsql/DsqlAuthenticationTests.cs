namespace EFCore.Dsql.FunctionalTests.Npgsql;

/// <summary>The generated token is exactly the password the server checks; nothing else gets in.</summary>
[Collection(PasswordAuthPostgresCollection.Name)]
public class DsqlAuthenticationTests(PasswordAuthPostgresFixture fixture)
{
    private static readonly DateTimeOffset SigningTime = new(2026, 11, 26, 1, 0, 0, TimeSpan.Zero);

    private DsqlConnectionOptions OptionsFor(string role, CountingCredentials credentials, DateTimeOffset? signingTime = null)
        => DsqlConnectionOptions
            .Parse($"Host={fixture.Instance.Host};Port={fixture.Instance.Port};Username={role};SSL Mode=Disable", "us-east-1")
            .WithCredentials(credentials)
            .WithTimeProvider(new FixedTimeProvider(signingTime ?? SigningTime));

    [Fact]
    public async Task Role_whose_password_is_the_token_is_accepted_async()
    {
        var options = OptionsFor("dsql_auth_async", new CountingCredentials());
        await fixture.CreateRoleAsync("dsql_auth_async", new DsqlAuthTokenProvider(options).GenerateToken());

        await using var dataSource = DsqlDataSource.Create(options);
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT current_user || ' ' || current_setting('application_name')", connection);

        Assert.Equal($"dsql_auth_async {DsqlConnectionOptions.DefaultApplicationName}", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Role_whose_password_is_the_token_is_accepted_sync()
    {
        var credentials = new CountingCredentials();
        var options = OptionsFor("dsql_auth_sync", credentials);
        await fixture.CreateRoleAsync("dsql_auth_sync", new DsqlAuthTokenProvider(options).GenerateToken());
        var asyncCallsBefore = credentials.AsyncCalls;

        // The synchronous open path: the sync password provider, no async credential resolution.
        using var connection = DsqlConnection.Open(options);
        using var command = new NpgsqlCommand("SELECT current_user", connection);

        Assert.Equal("dsql_auth_sync", command.ExecuteScalar());
        Assert.Equal(asyncCallsBefore, credentials.AsyncCalls);
    }

    [Fact]
    public async Task Async_open_resolves_credentials_on_the_async_path_only()
    {
        var credentials = new CountingCredentials();
        var options = OptionsFor("dsql_auth_async_only", credentials);
        await fixture.CreateRoleAsync("dsql_auth_async_only", await new DsqlAuthTokenProvider(options).GenerateTokenAsync());
        var before = credentials.AsyncCalls;

        await using var connection = await DsqlConnection.OpenAsync(options);

        Assert.Equal(0, credentials.SyncCalls);
        Assert.Equal(before + 1, credentials.AsyncCalls);
    }

    [Fact]
    public async Task Connection_string_form_opens_with_the_token()
    {
        var credentials = new CountingCredentials();
        var options = OptionsFor("dsql_auth_uri", credentials);
        await fixture.CreateRoleAsync("dsql_auth_uri", new DsqlAuthTokenProvider(options).GenerateToken());
        var uri = $"postgresql://dsql_auth_uri@{fixture.Instance.Host}:{fixture.Instance.Port}/postgres?region=us-east-1&sslmode=disable";
        var fromUri = DsqlConnectionOptions.Parse(uri).WithCredentials(credentials).WithTimeProvider(new FixedTimeProvider(SigningTime));

        await using var dataSource = DsqlDataSource.Create(fromUri);
        await using var connection = await dataSource.OpenConnectionAsync();

        Assert.Equal("dsql_auth_uri", connection.UserName);
    }

    [Fact]
    public async Task Any_other_password_is_refused()
    {
        var options = OptionsFor("dsql_auth_refused", new CountingCredentials());
        await fixture.CreateRoleAsync("dsql_auth_refused", new DsqlAuthTokenProvider(options).GenerateToken());

        await using var wrongPassword = NpgsqlDataSource.Create(
            $"Host={fixture.Instance.Host};Port={fixture.Instance.Port};Username=dsql_auth_refused;Password=not-the-token;Pooling=false");
        var withWrongPassword = await Assert.ThrowsAsync<PostgresException>(async () => await wrongPassword.OpenConnectionAsync());

        // A token signed a second later has another signature, so it is another password.
        await using var laterToken = DsqlDataSource.Create(OptionsFor("dsql_auth_refused", new CountingCredentials(), SigningTime.AddSeconds(1)));
        var withLaterToken = await Assert.ThrowsAsync<PostgresException>(async () => await laterToken.OpenConnectionAsync());

        Assert.Equal(PostgresErrorCodes.InvalidPassword, withWrongPassword.SqlState);
        Assert.Equal(PostgresErrorCodes.InvalidPassword, withLaterToken.SqlState);
    }

    [Fact]
    public async Task Admin_role_needs_the_admin_token_not_a_db_connect_token()
    {
        var credentials = new CountingCredentials();
        var adminOptions = OptionsFor("admin", credentials);
        var adminToken = new DsqlAuthTokenProvider(adminOptions).GenerateToken();
        await fixture.CreateRoleAsync("admin", adminToken);

        await using (var admin = DsqlDataSource.Create(adminOptions))
        await using (var connection = await admin.OpenConnectionAsync())
        {
            Assert.Equal("admin", connection.UserName);
        }

        // The same signer, clock and host, but the DbConnect action: a different token, refused for admin.
        var dbConnectToken = DsqlAuthTokenGenerator.GenerateDbConnectAuthToken(
            credentials, adminOptions.RegionEndpoint, adminOptions.Host, adminOptions.TokenDuration, adminOptions.TimeProvider);
        await using var withDbConnectToken = NpgsqlDataSource.Create(
            $"Host={fixture.Instance.Host};Port={fixture.Instance.Port};Username=admin;Pooling=false;Password={dbConnectToken}");

        Assert.Contains("Action=DbConnectAdmin&", adminToken, StringComparison.Ordinal);
        var exception = await Assert.ThrowsAsync<PostgresException>(async () => await withDbConnectToken.OpenConnectionAsync());
        Assert.Equal(PostgresErrorCodes.InvalidPassword, exception.SqlState);
    }

    [Fact]
    public async Task Builder_extension_applies_dsql_auth_to_an_existing_builder()
    {
        var options = OptionsFor("dsql_auth_builder", new CountingCredentials());
        await fixture.CreateRoleAsync("dsql_auth_builder", new DsqlAuthTokenProvider(options).GenerateToken());
        var builder = new NpgsqlDataSourceBuilder("Maximum Pool Size=2;Include Error Detail=true");

        await using var dataSource = builder.UseDsqlAuthentication(options).Build();
        await using var connection = await dataSource.OpenConnectionAsync();

        Assert.Equal("dsql_auth_builder", connection.UserName);
        Assert.Equal(2, new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).MaxPoolSize);
    }
}
