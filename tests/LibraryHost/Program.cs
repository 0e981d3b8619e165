using Dsql.Local;

// Starts the emulator with default options (a temporary data directory and TLS root), says where they are, and waits:
// SIGTERM ends the process with the runtime's default handling, without anyone disposing the server.
var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
Console.WriteLine($"port={server.Port}");
Console.WriteLine($"backend={server.BackendConnectionString}");
Console.WriteLine($"root={server.RootCertificatePath}");
Console.Out.Flush();
await Task.Delay(Timeout.Infinite);
GC.KeepAlive(server);
