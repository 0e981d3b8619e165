using Dsql.Local.Backend;

namespace EFCore.Dsql.FunctionalTests.Npgsql;

/// <summary>
/// A PostgreSQL on loopback TCP that checks passwords (SCRAM) for every role except the superuser <c>postgres</c> on the
/// private socket: a stand-in for DSQL's token check. Roles are created with a token as their password.
/// </summary>
public sealed class PasswordAuthPostgresFixture : IAsyncLifetime
{
    private PostgresInstance? _instance;
    private NpgsqlDataSource? _superuser;

    /// <summary>The running server.</summary>
    public PostgresInstance Instance => _instance ?? throw new InvalidOperationException("The fixture has not started.");

    /// <summary>A superuser data source over the private unix socket, for setting up roles and observing sessions.</summary>
    public NpgsqlDataSource Superuser => _superuser ?? throw new InvalidOperationException("The fixture has not started.");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        // The tests sign tokens for 127.0.0.1, so this server also listens on loopback TCP (where every login needs a password).
        _instance = await PostgresInstance.StartAsync(new PostgresSettings { ListenOnTcp = true });
        // pg_hba.conf is read top-down: keep the superuser on trust over the private socket, require SCRAM passwords elsewhere.
        var hba = Path.Combine(_instance.DataDirectory, "pg_hba.conf");
        var rules = string.Join('\n',
            "local all postgres trust",
            "host all all 127.0.0.1/32 scram-sha-256",
            "local all all scram-sha-256",
            "");
        await File.WriteAllTextAsync(hba, rules);
        _superuser = NpgsqlDataSource.Create(_instance.ConnectionString);
        await using var reload = _superuser.CreateCommand("SELECT pg_reload_conf()");
        await reload.ExecuteScalarAsync();
    }

    /// <summary>Creates (or re-passwords) a login role whose password is <paramref name="password"/>.</summary>
    public async Task CreateRoleAsync(string role, string password)
    {
        // Role names here are fixed test identifiers; the password is a literal with quotes doubled.
        var literal = "'" + password.Replace("'", "''", StringComparison.Ordinal) + "'";
        await using var command = Superuser.CreateCommand(
            $"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE \"{role}\" LOGIN; END IF; END $$;" +
            $"SET password_encryption = 'scram-sha-256'; ALTER ROLE \"{role}\" PASSWORD {literal};");
        await command.ExecuteNonQueryAsync();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await (_superuser?.DisposeAsync() ?? ValueTask.CompletedTask);
        await (_instance?.DisposeAsync() ?? ValueTask.CompletedTask);
    }
}

/// <summary>Tests that share the password-checking PostgreSQL.</summary>
[CollectionDefinition(Name)]
public sealed class PasswordAuthPostgresCollection : ICollectionFixture<PasswordAuthPostgresFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "PostgreSQL with password authentication";
}
