namespace EFCore.Dsql.IntegrationTests;

/// <summary>The admin role and a non-admin role mapped to the caller's IAM identity with <c>AWS IAM GRANT</c>.</summary>
[Collection(ClusterCollection.Name)]
public sealed class RoleTests(ClusterFixture fixture)
{
    [ClusterFact]
    public async Task Admin_connects_with_a_DbConnectAdmin_token_and_may_create_schema_objects()
    {
        var token = new DsqlAuthTokenProvider(fixture.Target.Options).GenerateToken();
        Assert.Contains("Action=DbConnectAdmin", token, StringComparison.Ordinal);

        await using var table = await fixture.CreateTableAsync("admin_rights", "id uuid PRIMARY KEY DEFAULT gen_random_uuid()");
        Assert.Equal("admin", await fixture.ScalarAsync<string>("SELECT current_user"));
        Assert.True(await fixture.TableExistsAsync(ClusterFixture.Schema, "admin_rights"));
    }

    [ClusterFact]
    public async Task Non_admin_role_mapped_with_AWS_IAM_GRANT_reads_what_it_was_granted_and_nothing_more()
    {
        var role = await CreateMappedRoleAsync();
        try
        {
            await using var table = await fixture.CreateTableAsync("granted", "id bigint PRIMARY KEY, note text");
            await fixture.ExecuteAsync($"INSERT INTO {table.Name} VALUES (1, 'visible')");
            await fixture.ExecuteAsync($"GRANT USAGE ON SCHEMA {ClusterFixture.Schema} TO {role}");
            await fixture.ExecuteAsync($"GRANT SELECT ON {table.Name} TO {role}");

            var options = fixture.Target.Options.WithUsername(role);
            Assert.Contains("Action=DbConnect&", new DsqlAuthTokenProvider(options).GenerateToken(), StringComparison.Ordinal);
            await using var dataSource = fixture.Target.CreateDataSource(options);
            await using var connection = await dataSource.OpenConnectionAsync();
            await using (var select = new NpgsqlCommand($"SELECT current_user, note FROM {table.Name}", connection))
            await using (var reader = await select.ExecuteReaderAsync())
            {
                Assert.True(await reader.ReadAsync());
                Assert.Equal((role, "visible"), (reader.GetString(0), reader.GetString(1)));
            }

            await using var insert = new NpgsqlCommand($"INSERT INTO {table.Name} VALUES (2, 'refused')", connection);
            var refused = await Assert.ThrowsAsync<PostgresException>(() => insert.ExecuteNonQueryAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }
        finally
        {
            await fixture.DropRoleAsync(role);
        }
    }

    [ClusterFact]
    public async Task Non_admin_role_may_not_create_roles()
    {
        var role = await CreateMappedRoleAsync();
        try
        {
            await using var dataSource = fixture.Target.CreateDataSource(fixture.Target.Options.WithUsername(role));
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var command = new NpgsqlCommand($"CREATE ROLE {role}_child", connection);
            var refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }
        finally
        {
            await fixture.DropRoleAsync(role);
        }
    }

    /// <summary>Creates a login role and maps it to the caller's IAM identity, or skips the test saying why it cannot.</summary>
    private async Task<string> CreateMappedRoleAsync()
    {
        Skip.When(fixture.Target.IamArn is null
            ? $"{ClusterTarget.IamArnVariable} is not set: a non-admin role is mapped to an IAM identity with AWS IAM GRANT, and the test needs the ARN of " +
              "the identity whose credentials it runs with (an IAM role or user ARN, for example arn:aws:iam::123456789012:role/ci)."
            : null);

        var role = ClusterFixture.UniqueName("it_role_");
        fixture.TrackRole(role);
        try
        {
            await fixture.ExecuteAsync($"CREATE ROLE {role} WITH LOGIN");
            await fixture.ExecuteAsync($"AWS IAM GRANT {role} TO '{fixture.Target.IamArn!.Replace("'", "''", StringComparison.Ordinal)}'");
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.SyntaxError or PostgresErrorCodes.FeatureNotSupported)
        {
            await fixture.DropRoleAsync(role);
            Skip.Because($"This identity may not create and map a role on {fixture.Target.Description}: {e.SqlState} {e.MessageText}");
        }

        return role;
    }
}
