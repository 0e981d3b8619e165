// The DSQL connector for Npgsql in a few lines.
//
//   dotnet run --project samples/Connector                          # local demo: a throw-away PostgreSQL, example credentials
//   dotnet run --project samples/Connector -- <endpoint|cluster-id> [region]   # a real cluster, AWS default credentials
using Amazon.Runtime;
using Dsql.Local.Backend;
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

// Local demo: the same code path against a throw-away PostgreSQL (trust authentication, so any token is accepted).
Console.WriteLine("No cluster given; starting a local PostgreSQL (pass an endpoint to use a real DSQL cluster).");
await using var postgres = await PostgresInstance.StartAsync();
var options = DsqlConnectionOptions
    .Parse($"postgresql://postgres@{postgres.Host}:{postgres.Port}/postgres?region=us-east-1&sslmode=disable&Maximum%20Pool%20Size=4")
    .WithCredentials(new BasicAWSCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
Console.WriteLine($"Options: {options}");

var token = new DsqlAuthTokenProvider(options).GenerateToken();
// A token is a secret; show only its non-secret prefix.
Console.WriteLine($"A token looks like: {token[..token.IndexOf("&X-Amz-Credential", StringComparison.Ordinal)]}&… ({token.Length} characters)");

await using (var local = DsqlDataSource.Create(options))
{
    await RunAsync(local);
}

// The one-liner, like the Python connector's connect():
await using (var connection = await DsqlConnection.OpenAsync(options))
{
    Console.WriteLine($"DsqlConnection.OpenAsync: connected as {connection.UserName}");
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
