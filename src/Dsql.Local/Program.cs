using System.Runtime.InteropServices;
using Dsql.Local.Cli;

namespace Dsql.Local;

/// <summary>The <c>Dsql.Local</c> command line: starts the emulator and runs until SIGINT/SIGTERM.</summary>
internal static class EmulatorProgram
{
    private static async Task<int> Main(string[] args)
    {
        DsqlLocalOptions options;
        bool quiet;
        try
        {
            (options, quiet) = CommandLine.Parse(args);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(CommandLine.Usage);
            return 2;
        }

        if (!quiet)
        {
            options.Log = line => Console.Error.WriteLine(line);
        }

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Shutdown);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Shutdown);

        DsqlLocalServer server;
        try
        {
            server = await DsqlLocalServer.StartAsync(options);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or System.Net.Sockets.SocketException or global::Npgsql.NpgsqlException)
        {
            Console.Error.WriteLine($"Dsql.Local could not start: {e.Message}");
            return 1;
        }

        await using (server)
        {
            Console.WriteLine($"Dsql.Local listening on 127.0.0.1:{server.Port}");
            if (!options.NoAuth && options.Credentials.Count == 0)
            {
                Console.WriteLine($"Tokens must be signed with the default throw-away access key ID {DsqlLocalCredential.DefaultAccessKeyId} (see docs/dsql-local.md), region {server.Region}, host {server.Endpoint}.");
            }

            await stop.Task;
            Console.WriteLine("Dsql.Local shutting down");
        }

        return 0;

        void Shutdown(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }
    }
}
