namespace EFCore.Dsql.FunctionalTests.Local;

/// <summary>
/// Client sessions run on the backend as their own non-superuser role with DSQL's privileges: no host program, no server
/// file, no catalog secret, no escalation, and the functions DSQL refuses answer DSQL's error. The file and program cases
/// go through a <c>LANGUAGE sql</c> function, where the statement text never reaches the dialect: only the backend's
/// privileges stop them.
/// </summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlLocalPrivilegeTests(DsqlLocalFixture fixture)
{
    [Fact]
    public async Task Admin_is_not_a_superuser_on_the_backend()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        Assert.Equal("off", await ScalarAsync(connection, "SHOW is_superuser"));
        Assert.Equal(false, await ScalarAsync(connection, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"));
        Assert.Equal("admin", await ScalarAsync(connection, "SELECT session_user::text"));
    }

    [Theory]
    [InlineData("priv_copy_to_program", null, "COPY (SELECT 1) TO PROGRAM 'touch {0}'")]
    [InlineData("priv_copy_from_program", "priv_sink", "COPY priv_sink FROM PROGRAM 'touch {0}; echo x'")]
    [InlineData("priv_copy_to_file", null, "COPY (SELECT 'leak') TO '{0}'")]
    [InlineData("priv_copy_from_file", "priv_file_sink", "COPY priv_file_sink FROM '/etc/hostname'")]
    public async Task Copy_to_or_from_a_program_or_server_file_inside_a_function_is_refused_and_runs_or_writes_nothing(
        string function, string? sinkTable, string copy)
    {
        if (sinkTable is not null)
        {
            await fixture.ExecuteOnBackendAsync($"DROP TABLE IF EXISTS {sinkTable}; CREATE TABLE {sinkTable} (v text)");
        }

        // The marker is the file the program would touch or the COPY would write.
        var marker = MarkerPath();
        var error = await CallFunctionAsync(function, string.Format(copy, marker));
        Assert.Equal("42501", error.SqlState);
        Assert.False(File.Exists(marker));
    }

    [Theory]
    [InlineData("SELECT pg_read_file('/etc/hostname')", "pg_read_file")]
    [InlineData("SELECT pg_read_file('/etc/hostname', 0, 10)", "pg_read_file")]
    [InlineData("SELECT pg_read_binary_file('/etc/hostname')", "pg_read_binary_file")]
    [InlineData("SELECT pg_ls_dir('/')", "pg_ls_dir")]
    [InlineData("SELECT pg_stat_file('/etc/hostname')", "pg_stat_file")]
    [InlineData("SELECT lo_import('/etc/hostname')", "lo_import")]
    public async Task Server_file_functions_are_refused_with_dsqls_answer(string sql, string function)
    {
        await AssertNotSupportedAsync(sql, function);
    }

    [Fact]
    public async Task Lo_export_cannot_write_a_server_file()
    {
        var marker = MarkerPath();
        await AssertNotSupportedAsync($"SELECT lo_export(lo_from_bytea(0, 'leak'), '{marker}')", "lo_export");
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task Pg_authid_is_unreadable()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var error = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(connection, "SELECT count(rolpassword) FROM pg_authid"));
        Assert.Equal("42501", error.SqlState);
    }

    [Theory]
    [InlineData("SELECT set_config('role', 'postgres', false)")]
    [InlineData("SELECT set_config('session_authorization', 'postgres', false)")]
    [InlineData("SELECT set_config('search_path', 'public', true)")]
    public async Task Set_config_is_refused(string sql)
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await AssertNotSupportedAsync(sql, "set_config", connection);
        Assert.Equal("admin", await ScalarAsync(connection, "SELECT current_user::text"));
    }

    [Theory]
    [InlineData("SET ROLE postgres", "42501")]
    [InlineData("GRANT pg_execute_server_program TO admin", "42501")]
    [InlineData("GRANT pg_read_server_files TO admin", "42501")]
    // DSQL's grammar has no ALTER ROLE: refused at admission, before the backend's own permission check.
    [InlineData("ALTER ROLE admin SUPERUSER", "42601")]
    public async Task Admin_cannot_escalate(string sql, string sqlState)
    {
        await using var connection = await fixture.OpenConnectionAsync();
        var error = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(connection, sql));
        Assert.Equal(sqlState, error.SqlState);
        Assert.Equal(false, await ScalarAsync(connection, "SELECT pg_has_role(current_user, 'pg_execute_server_program', 'USAGE')"));
    }

    [Theory]
    [InlineData("pg_advisory_lock", "1")]
    [InlineData("pg_advisory_lock", "1, 2")]
    [InlineData("pg_advisory_lock_shared", "1")]
    [InlineData("pg_try_advisory_lock", "1")]
    [InlineData("pg_try_advisory_lock_shared", "1")]
    [InlineData("pg_advisory_xact_lock", "1")]
    [InlineData("pg_advisory_xact_lock_shared", "1")]
    [InlineData("pg_try_advisory_xact_lock", "1")]
    [InlineData("pg_try_advisory_xact_lock_shared", "1")]
    [InlineData("pg_advisory_unlock", "1")]
    [InlineData("pg_advisory_unlock_shared", "1")]
    [InlineData("pg_advisory_unlock_all", "")]
    [InlineData("pg_notify", "'channel', 'payload'")]
    public async Task Advisory_locks_and_notifications_are_refused_with_dsqls_answer(string function, string arguments)
    {
        await AssertNotSupportedAsync($"SELECT {function}({arguments})", function);
    }

    [Fact]
    public async Task A_refused_function_stays_refused_inside_a_view()
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await ScalarAsync(connection, "CREATE OR REPLACE VIEW priv_lock_view AS SELECT pg_try_advisory_lock(42) AS locked");
        await AssertNotSupportedAsync("SELECT locked FROM priv_lock_view", "pg_try_advisory_lock", connection);
    }

    /// <summary>Runs <paramref name="sql"/> (on a new connection unless one is given) and expects DSQL's answer to <paramref name="function"/>.</summary>
    private async Task AssertNotSupportedAsync(string sql, string function, NpgsqlConnection? connection = null)
    {
        await using var owned = connection is null ? await fixture.OpenConnectionAsync() : null;
        var error = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(connection ?? owned!, sql));
        Assert.Equal(("0A000", $"function {function} not supported"), (error.SqlState, error.MessageText));
    }

    private static string MarkerPath() => Path.Combine(Path.GetTempPath(), "dsql-local-priv-" + Guid.NewGuid().ToString("N"));

    /// <summary>Creates (as admin) a SQL function whose body is <paramref name="body"/>, calls it, and returns the error.</summary>
    private async Task<PostgresException> CallFunctionAsync(string name, string body)
    {
        await using var connection = await fixture.OpenConnectionAsync();
        await ScalarAsync(connection, $"CREATE OR REPLACE FUNCTION {name}() RETURNS void LANGUAGE sql AS $body$ {body} $body$");
        return await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(connection, $"SELECT {name}()"));
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
