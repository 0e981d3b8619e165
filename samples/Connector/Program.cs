// The DSQL connector for Npgsql, one runnable example per way of connecting:
//
//   dotnet run --project samples/Connector -- basic        # a connection, synchronously
//   dotnet run --project samples/Connector -- async        # a connection, asynchronously
//   dotnet run --project samples/Connector -- pool         # one data source: a pool, a fresh IAM token per physical connection
//   dotnet run --project samples/Connector -- concurrent   # the pool used by many tasks at once
//   dotnet run --project samples/Connector -- single       # one connection in one line, no data source to manage
//   dotnet run --project samples/Connector -- dapper       # Dapper with DsqlRetry: transfers as REPEATABLE READ units retried on conflict
//   dotnet run --project samples/Connector -- all
//
// Without DSQL_ENDPOINT each run starts the Dsql.Local emulator in-process (its own PostgreSQL, IAM token checks over
// TLS, throw-away credentials). With DSQL_ENDPOINT set to a cluster endpoint, a cluster ID (with AWS_REGION) or a
// connection string, and AWS credentials as usual (DSQL_USER picks another role than admin), the same code runs against
// that cluster.
using Dsql.Samples.Connector;

if (args.Length != 1 || !(args[0] == "all" || Examples.ByName.ContainsKey(args[0])))
{
    Console.Error.WriteLine($"Usage: dotnet run --project samples/Connector -- <{string.Join('|', Examples.ByName.Keys)}|all>");
    return 2;
}

await using var target = await ExampleTarget.StartAsync(Environment.GetEnvironmentVariable("DSQL_ENDPOINT"), Environment.GetEnvironmentVariable("DSQL_USER"));
Console.WriteLine($"Target: {target.Description}");

foreach (var (name, run) in Examples.ByName.Where(e => args[0] == "all" || e.Key == args[0]))
{
    Console.WriteLine($"== {name}");
    await run(target.Options);
}

return 0;
