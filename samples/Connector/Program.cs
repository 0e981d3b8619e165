// The DSQL connector for Npgsql in a few lines.
//
//   dotnet run --project samples/Connector                          # local demo: the Dsql.Local emulator (token checks, TLS)
//   dotnet run --project samples/Connector -- <endpoint|cluster-id> [region]   # a real cluster, AWS default credentials
using Amazon.Runtime;
using Dsql.Local;
using Dsql.Npgsql;
using Npgsql;

if (args.Length > 0)
{
    // A real cluster: the region comes from the endpoint (or the argument / AWS_REGION for a bare cluster ID), the
    // credentials from the AWS default chain, and every physical connection gets a fresh IAM token over verified TLS.
    await using var dataSource = DsqlDataSource.Create(args[0], args.Length > 1 ? args[1] : null);
    await RunAsync(dataSource);
    return;
}

// Local demo: the same code path against the Dsql.Local emulator, which checks IAM tokens over TLS as DSQL does.
Console.WriteLine("No cluster given; starting the Dsql.Local emulator (pass an endpoint to use a real DSQL cluster).");
await using var emulator = await DsqlLocalServer.StartAsync();
var options = DsqlConnectionOptions
    // The emulator's certificate is self-signed: Require + trust here; real endpoints get VerifyFull by default.
    .Parse($"postgresql://admin@{emulator.Endpoint}:{emulator.Port}/postgres?sslmode=require&Trust%20Server%20Certificate=true&Maximum%20Pool%20Size=4", emulator.Region)
    .WithCredentials(new BasicAWSCredentials(emulator.Credential.AccessKeyId, emulator.Credential.SecretAccessKey));
Console.WriteLine($"Options: {options}");

var token = new DsqlAuthTokenProvider(options).GenerateToken();
// A token is a secret; show only its non-secret prefix.
Console.WriteLine($"A token looks like: {token[..token.IndexOf("&X-Amz-Credential", StringComparison.Ordinal)]}&… ({token.Length} characters)");

await using (var local = DsqlDataSource.Create(options))
{
    await RunAsync(local);
}

// The one-liner, like the Python connector's connect(), as a non-admin role (DbConnect token):
await using (var connection = await DsqlConnection.OpenAsync(options.WithUsername("app_reader")))
{
    Console.WriteLine($"DsqlConnection.OpenAsync: connected as {connection.UserName}");
}

// A token signed with the wrong secret is refused, as on DSQL.
try
{
    var wrong = options.WithCredentials(new BasicAWSCredentials(emulator.Credential.AccessKeyId, "wrong-secret"));
    await using var refused = await DsqlConnection.OpenAsync(wrong);
}
catch (PostgresException e)
{
    Console.WriteLine($"Wrong secret refused: {e.SqlState} {e.MessageText}");
}

static async Task RunAsync(NpgsqlDataSource dataSource)
{
    var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
    Console.WriteLine($"Npgsql settings: SSL Mode={settings.SslMode}, Connection Lifetime={settings.ConnectionLifetime}s, " +
                      $"No Reset On Close={settings.NoResetOnClose}, Application Name={settings.ApplicationName}");

    await using var connection = await dataSource.OpenConnectionAsync();
    await using var command = new NpgsqlCommand("SELECT current_user, current_setting('server_version'), current_setting('application_name')", connection);
    await using var reader = await command.ExecuteReaderAsync();
    await reader.ReadAsync();
    Console.WriteLine($"Connected as {reader.GetString(0)} to PostgreSQL {reader.GetString(1)} (application_name {reader.GetString(2)})");
}
