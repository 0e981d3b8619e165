namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>
/// One Dsql.Local emulator (with its own throw-away PostgreSQL) shared by a test collection: use
/// <c>[Collection(DsqlLocalCollection.Name)]</c> and take the fixture in the constructor.
/// </summary>
/// <remarks>
/// The emulator runs with TLS and IAM token checks on, like DSQL. <see cref="DataSource"/> and
/// <see cref="ConnectionString"/> connect as <c>admin</c> with valid tokens; <see cref="BackendConnectionString"/> goes
/// straight to the PostgreSQL behind it (superuser, no DSQL rules) for set-up and inspection.
/// </remarks>
public sealed class DsqlLocalFixture : IAsyncLifetime
{
    private DsqlLocalServer? _server;
    private NpgsqlDataSource? _dataSource;

    /// <summary>The running emulator.</summary>
    public DsqlLocalServer Server => _server ?? throw new InvalidOperationException("The emulator has not started.");

    /// <summary>The emulator's loopback address.</summary>
    public string Host => Server.Host;

    /// <summary>The emulator's port.</summary>
    public int Port => Server.Port;

    /// <summary>The host name tokens are signed for (<c>localhost</c>).</summary>
    public string Endpoint => Server.Endpoint;

    /// <summary>The region tokens are scoped to (<c>us-east-1</c>).</summary>
    public string Region => Server.Region;

    /// <summary>The access key pair the emulator accepts (sign your own tokens with it).</summary>
    public DsqlLocalCredential Credential => Server.Credential;

    /// <summary>
    /// A connection string for <c>admin</c> with a token valid for 12 hours, <c>SSL Mode=VerifyFull</c> against the emulator's root certificate, and
    /// <c>No Reset On Close=true</c> (DSQL refuses <c>DISCARD ALL</c>).
    /// </summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>A data source for <c>admin</c> that signs a fresh token for every physical connection.</summary>
    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("The emulator has not started.");

    /// <summary>A superuser connection string straight to the backend PostgreSQL, bypassing every DSQL rule.</summary>
    public string BackendConnectionString => Server.BackendConnectionString;

    /// <summary>A connection string for another role (created on first login), with a <c>DbConnect</c> token.</summary>
    public string GetConnectionString(string user) => Server.GetConnectionString(user);

    /// <summary>A data source for <paramref name="user"/>; the caller disposes it.</summary>
    public NpgsqlDataSource CreateDataSource(string user = "admin", Action<NpgsqlDataSourceBuilder>? configure = null)
        => Server.CreateDataSource(user, configure);

    /// <summary>Opens a connection as <c>admin</c>.</summary>
    public async Task<NpgsqlConnection> OpenConnectionAsync() => await DataSource.OpenConnectionAsync();

    /// <summary>
    /// Runs SQL directly on the backend (set-up and clean-up that DSQL's rules would refuse, e.g. several DDL at once), as
    /// <c>admin</c>: what it creates belongs to admin, as if admin had created it through the emulator.
    /// </summary>
    public async Task ExecuteOnBackendAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(BackendConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SET ROLE admin;\n" + sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Creates <paramref name="role"/> (<c>WITH LOGIN</c>) as admin and maps it to the IAM identity of the emulator's
    /// credential, as DSQL needs before that role can log in. Idempotent.
    /// </summary>
    public async Task CreateMappedRoleAsync(string role)
    {
        await using var connection = await OpenConnectionAsync();
        await using (var exists = new NpgsqlCommand("SELECT count(*) FROM pg_roles WHERE rolname = $1", connection))
        {
            exists.Parameters.Add(new NpgsqlParameter { Value = role });
            if ((long)(await exists.ExecuteScalarAsync())! == 0)
            {
                await using var create = new NpgsqlCommand($"CREATE ROLE \"{role}\" WITH LOGIN", connection);
                await create.ExecuteNonQueryAsync();
            }
        }

        await using var grant = new NpgsqlCommand($"AWS IAM GRANT \"{role}\" TO '{Server.Credential.EffectiveIamArn}'", connection);
        await grant.ExecuteNonQueryAsync();
    }

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        ConnectionString = _server.GetConnectionString();
        _dataSource = _server.CreateDataSource();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        await (_dataSource?.DisposeAsync() ?? ValueTask.CompletedTask);
        await (_server?.DisposeAsync() ?? ValueTask.CompletedTask);
    }
}

/// <summary>The test collection sharing one <see cref="DsqlLocalFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class DsqlLocalCollection : ICollectionFixture<DsqlLocalFixture>
{
    /// <summary>The collection name for <c>[Collection(DsqlLocalCollection.Name)]</c>.</summary>
    public const string Name = "DsqlLocal";
}
