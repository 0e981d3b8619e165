using Dsql.Local;
using Dsql.Local.Conformance;
using EFCore.Dsql.FunctionalTests.Infrastructure;
using Npgsql;

namespace EFCore.Dsql.FunctionalTests.Local;

/// <summary>
/// DSQL's role model: admin creates a role <c>WITH LOGIN</c> and maps it to an IAM identity with <c>AWS IAM GRANT</c>;
/// only then can that identity log in as the role. The emulator's identity for a key is the ARN configured with it, else
/// <c>arn:aws:iam::000000000000:user/&lt;access key id&gt;</c>.
/// </summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlLocalRoleTests(DsqlLocalFixture fixture)
{
    private string Arn => fixture.Credential.EffectiveIamArn;

    [Fact]
    public async Task A_role_that_does_not_exist_is_refused_at_login()
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => OpenAsRoleAsync(fixture.Server, "role_never_created"));
        Assert.Equal("28000", error.SqlState);
        Assert.Contains("role \"role_never_created\" does not exist", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_role_not_mapped_to_the_connecting_identity_is_refused_at_login()
    {
        await AsAdminAsync("DROP ROLE IF EXISTS role_unmapped", "CREATE ROLE role_unmapped WITH LOGIN");
        var error = await Assert.ThrowsAsync<PostgresException>(() => OpenAsRoleAsync(fixture.Server, "role_unmapped"));
        Assert.Equal("28000", error.SqlState);
        Assert.Contains($"the IAM identity {Arn} is not mapped to role \"role_unmapped\"", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_role_without_login_is_refused_even_when_mapped()
    {
        await AsAdminAsync("DROP ROLE IF EXISTS role_nologin", "CREATE ROLE role_nologin", $"AWS IAM GRANT role_nologin TO '{Arn}'");
        var error = await Assert.ThrowsAsync<PostgresException>(() => OpenAsRoleAsync(fixture.Server, "role_nologin"));
        Assert.Contains("is not permitted to log in", error.MessageText, StringComparison.Ordinal);
        await AsAdminAsync($"AWS IAM REVOKE role_nologin FROM '{Arn}'", "DROP ROLE role_nologin");
    }

    [Fact]
    public async Task A_mapped_role_logs_in_as_itself_until_the_mapping_is_revoked()
    {
        await AsAdminAsync("DROP ROLE IF EXISTS role_mapped", "CREATE ROLE role_mapped WITH LOGIN", $"AWS IAM GRANT role_mapped TO '{Arn}'");
        await using (var connection = await OpenAsRoleAsync(fixture.Server, "role_mapped"))
        {
            await using var command = new NpgsqlCommand("SELECT current_user::text, session_user::text", connection);
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(("role_mapped", "role_mapped"), (reader.GetString(0), reader.GetString(1)));
        }

        await AsAdminAsync($"AWS IAM REVOKE role_mapped FROM '{Arn}'");
        var error = await Assert.ThrowsAsync<PostgresException>(() => OpenAsRoleAsync(fixture.Server, "role_mapped"));
        Assert.Contains("is not mapped", error.MessageText, StringComparison.Ordinal);
        await AsAdminAsync("DROP ROLE role_mapped");
    }

    [Fact]
    public async Task Mappings_are_listed_in_sys_iam_pg_role_mappings()
    {
        await AsAdminAsync("DROP ROLE IF EXISTS role_listed", "CREATE ROLE role_listed WITH LOGIN",
            "AWS IAM GRANT role_listed TO 'arn:aws:iam::012345678912:role/example'");
        await using var connection = await fixture.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(
            "SELECT arn, pg_role_name::text, grantor_pg_role_name::text, iam_oid > 0, pg_role_oid = 'role_listed'::regrole FROM sys.iam_pg_role_mappings WHERE pg_role_name = 'role_listed'",
            connection);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(("arn:aws:iam::012345678912:role/example", "role_listed", "admin", true, true),
                (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetBoolean(3), reader.GetBoolean(4)));
            Assert.False(await reader.ReadAsync());
        }

        await AsAdminAsync("AWS IAM REVOKE role_listed FROM 'arn:aws:iam::012345678912:role/example'", "DROP ROLE role_listed");
    }

    [Fact]
    public async Task Role_statements_answer_their_own_command_tags()
    {
        await AsAdminAsync("DROP ROLE IF EXISTS role_tags");
        await using var client = await RawPgClient.ConnectAsync(fixture.Server.Host, fixture.Server.Port, "admin", fixture.Server.GenerateAuthToken(), tls: true);
        foreach (var (sql, tag) in new[]
                 {
                     ("CREATE ROLE role_tags WITH LOGIN", "CREATE ROLE"), ($"AWS IAM GRANT role_tags TO '{Arn}'", "AWS IAM GRANT"),
                     ($"AWS IAM REVOKE role_tags FROM '{Arn}'", "AWS IAM REVOKE"), ("DROP ROLE role_tags", "DROP ROLE"),
                 })
        {
            var result = Assert.Single(await client.ExecuteSimpleAsync(sql));
            Assert.Equal(tag, result.CommandTag);
        }
    }

    [Fact]
    public async Task A_mapped_role_cannot_be_dropped_until_revoked()
    {
        await AsAdminAsync("DROP ROLE IF EXISTS role_pinned", "CREATE ROLE role_pinned WITH LOGIN", $"AWS IAM GRANT role_pinned TO '{Arn}'");
        var error = await Assert.ThrowsAsync<PostgresException>(() => AsAdminAsync("DROP ROLE role_pinned"));
        Assert.Equal(("2BP01", "role \"role_pinned\" cannot be dropped because some objects depend on it"), (error.SqlState, error.MessageText));
        await AsAdminAsync($"AWS IAM REVOKE role_pinned FROM '{Arn}'", "DROP ROLE role_pinned");
    }

    [Theory]
    [InlineData("CREATE ROLE role_by_other WITH LOGIN")]
    [InlineData("AWS IAM GRANT admin TO 'arn:aws:iam::012345678912:role/x'")]
    [InlineData("DROP ROLE admin")]
    public async Task Only_admin_manages_roles_and_mappings(string sql)
    {
        await fixture.CreateMappedRoleAsync("role_plain");
        await using var connection = await OpenAsRoleAsync(fixture.Server, "role_plain");
        var error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, sql));
        Assert.Equal("42501", error.SqlState);
    }

    [Theory]
    [InlineData("CREATE ROLE role_super WITH SUPERUSER")]
    [InlineData("CREATE ROLE role_creator WITH LOGIN CREATEROLE")]
    [InlineData("AWS IAM GRANT postgres TO 'arn:aws:iam::012345678912:role/x'")]
    [InlineData("AWS IAM GRANT pg_execute_server_program TO 'arn:aws:iam::012345678912:role/x'")]
    [InlineData("DROP ROLE postgres")]
    public async Task Admin_cannot_create_map_or_drop_privileged_roles(string sql)
    {
        var error = await Assert.ThrowsAsync<PostgresException>(() => AsAdminAsync(sql));
        Assert.Equal("42501", error.SqlState);
    }

    [Fact]
    public async Task The_superuser_service_role_cannot_log_in_even_with_permissive_login()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { CreateRolesOnLogin = true });
        var error = await Assert.ThrowsAsync<PostgresException>(() => OpenAsRoleAsync(server, "postgres"));
        Assert.Equal("28000", error.SqlState);
        Assert.Contains("cannot log in with IAM authentication", error.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Permissive_login_creates_any_role_on_the_fly_when_switched_on()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { CreateRolesOnLogin = true });
        await using var connection = await OpenAsRoleAsync(server, "role_on_the_fly");
        await using var command = new NpgsqlCommand("SELECT current_user::text", connection);
        Assert.Equal("role_on_the_fly", await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_key_configured_with_an_arn_logs_in_as_the_roles_mapped_to_that_arn()
    {
        var options = new DsqlLocalOptions();
        options.Credentials.Add(DsqlLocalCredential.Parse("AKIAROLEMAPPEDKEY001:role-secret:arn:aws:iam::123456789012:role/app"));
        await using var server = await DsqlLocalServer.StartAsync(options);
        await using (var admin = server.CreateDataSource())
        {
            await using var connection = await admin.OpenConnectionAsync();
            await ExecuteAsync(connection, "CREATE ROLE app_role WITH LOGIN");
            await ExecuteAsync(connection, "AWS IAM GRANT app_role TO 'arn:aws:iam::123456789012:role/other'");
        }

        var refused = await Assert.ThrowsAsync<PostgresException>(() => OpenAsRoleAsync(server, "app_role"));
        Assert.Contains("the IAM identity arn:aws:iam::123456789012:role/app is not mapped", refused.MessageText, StringComparison.Ordinal);

        await using (var admin = server.CreateDataSource())
        {
            await using var connection = await admin.OpenConnectionAsync();
            await ExecuteAsync(connection, "AWS IAM GRANT app_role TO 'arn:aws:iam::123456789012:role/app'");
        }

        await using var mapped = await OpenAsRoleAsync(server, "app_role");
        Assert.Equal(System.Data.ConnectionState.Open, mapped.State);
    }

    private static async Task<NpgsqlConnection> OpenAsRoleAsync(DsqlLocalServer server, string role)
    {
        var builder = new NpgsqlConnectionStringBuilder(server.GetConnectionString(role)) { Pooling = false };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync();
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        return connection;
    }

    private async Task AsAdminAsync(params string[] statements)
    {
        await using var connection = await fixture.OpenConnectionAsync();
        foreach (var sql in statements)
        {
            await ExecuteAsync(connection, sql);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
