namespace EFCore.Dsql.FunctionalTests.Npgsql;

/// <summary>
/// The connector end to end against the Dsql.Local emulator, which checks tokens (signature, action, host, region, expiry)
/// over TLS and refuses what DSQL refuses.
/// </summary>
[Collection(DsqlLocalCollection.Name)]
public class DsqlLocalConnectorTests(DsqlLocalFixture fixture)
{
    // The emulator's self-signed certificate is for localhost; a local emulator needs Require + trust rather than VerifyFull.
    private DsqlConnectionOptions Options(string role = "admin")
        => DsqlConnectionOptions
            .Parse($"postgresql://{role}@{fixture.Endpoint}:{fixture.Port}/postgres?sslmode=require&Trust%20Server%20Certificate=true", fixture.Region)
            .WithCredentials(new BasicAWSCredentials(fixture.Credential.AccessKeyId, fixture.Credential.SecretAccessKey));

    [Fact]
    public async Task Admin_connects_over_tls_with_the_connectors_token()
    {
        await using var dataSource = DsqlDataSource.Create(Options());
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT current_user", connection);

        Assert.Equal("admin", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Other_role_connects_with_a_db_connect_token()
    {
        // As on DSQL, admin creates the role and maps it to the connecting identity first.
        await fixture.CreateMappedRoleAsync("connector_reader");
        await using var connection = await DsqlConnection.OpenAsync(Options("connector_reader"));

        Assert.Equal("connector_reader", connection.UserName);
    }

    [Fact]
    public void Sync_open_works()
    {
        using var connection = DsqlConnection.Open(Options());

        Assert.Equal(System.Data.ConnectionState.Open, connection.State);
    }

    [Fact]
    public async Task Pooled_connections_are_returned_and_reused_without_a_refused_reset()
    {
        await using var dataSource = DsqlDataSource.Create(Options());
        for (var i = 0; i < 3; i++)
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            Assert.Equal(1, await command.ExecuteScalarAsync());
        }
    }

    [Fact]
    public async Task Overriding_no_reset_on_close_shows_why_it_is_the_default()
    {
        // With No Reset On Close=false Npgsql queues DISCARD ALL when a connection goes back to the pool and sends it
        // ahead of the next command; DSQL (and the emulator) refuse it, so the next user of the connection fails.
        await using var dataSource = DsqlDataSource.Create(Options().WithNpgsqlSettings(b => b.NoResetOnClose = false));
        await using (var first = await dataSource.OpenConnectionAsync())
        await using (var command = new NpgsqlCommand("SELECT 1", first))
        {
            await command.ExecuteScalarAsync();
        }

        await using var second = await dataSource.OpenConnectionAsync();
        await using var next = new NpgsqlCommand("SELECT 1", second);
        var exception = await Assert.ThrowsAsync<PostgresException>(async () => await next.ExecuteScalarAsync());

        Assert.Equal("0A000", exception.SqlState);
        Assert.Contains("Discard", exception.MessageText, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Wrong_secret_is_refused_by_the_emulator()
    {
        var options = Options().WithCredentials(new BasicAWSCredentials(fixture.Credential.AccessKeyId, "not-the-secret"));
        await using var dataSource = DsqlDataSource.Create(options);

        await Assert.ThrowsAsync<PostgresException>(async () => await dataSource.OpenConnectionAsync());
    }

    [Fact]
    public async Task Token_signed_for_another_region_is_refused_by_the_emulator()
    {
        await using var dataSource = DsqlDataSource.Create(Options().WithRegion("eu-west-1"));

        await Assert.ThrowsAsync<PostgresException>(async () => await dataSource.OpenConnectionAsync());
    }
}
