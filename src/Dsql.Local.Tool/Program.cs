using System.CommandLine;
using System.Runtime.InteropServices;
using Dsql.Local.Cli;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Dsql.Local;

/// <summary>The <c>dsql-local</c> command: starts the emulator and runs until SIGINT/SIGTERM.</summary>
internal static class EmulatorProgram
{
    private static Task<int> Main(string[] args)
    {
        var commandLine = new CommandLine();
        commandLine.Root.SetAction((result, _) => RunAsync(commandLine, result));
        commandLine.Root.Subcommands.Add(new RecordCommand());
        // The emulator handles SIGINT/SIGTERM itself: it must stop its PostgreSQL, however long that takes.
        return commandLine.Root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    private static async Task<int> RunAsync(CommandLine commandLine, ParseResult result)
    {
        CliSettings settings;
        try
        {
            settings = commandLine.Bind(result);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        var options = settings.Options;
        using var loggerFactory = settings.Quiet
            ? null
            : LoggerFactory.Create(logging => logging
                .AddSimpleConsole(console => console.SingleLine = true)
                .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));
        options.LoggerFactory = loggerFactory;
        options.StopOnTermination = false; // SIGINT/SIGTERM end RunAsync below, which disposes the server

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Shutdown);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Shutdown);

        DsqlLocalServer server;
        try
        {
            server = await DsqlLocalServer.StartAsync(options);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or UnauthorizedAccessException
                                      or System.Net.Sockets.SocketException or NpgsqlException)
        {
            Console.Error.WriteLine($"Dsql.Local could not start: {e.Message}");
            return 1;
        }

        await using (server)
        {
            Console.WriteLine($"Dsql.Local listening on {new System.Net.IPEndPoint(options.ListenAddress, server.Port)}");
            foreach (var line in StartupLines(server, options, settings.GeneratedCredential))
            {
                Console.WriteLine(line);
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

    /// <summary>
    /// What a user needs to connect: the root certificate to trust, the AWS environment for the throw-away key pair
    /// generated for this start (never a secret the user supplied: those stay where the user put them), and a connection string.
    /// </summary>
    internal static IEnumerable<string> StartupLines(DsqlLocalServer server, DsqlLocalOptions options, DsqlLocalCredential? generated)
    {
        var root = server.RootCertificatePath;
        if (root is not null)
        {
            yield return $"Root certificate (trust it with SSL Mode=VerifyFull): {root}";
        }

        if (options.NoAuth)
        {
            yield return "Authentication is off (--no-auth): any password is accepted.";
        }
        else if (generated is not null)
        {
            yield return "Sign tokens with this start's throw-away key pair (generated now, valid until it stops; pass --credentials to choose your own):";
            yield return $"  export AWS_ACCESS_KEY_ID={generated.AccessKeyId} AWS_SECRET_ACCESS_KEY={generated.SecretAccessKey} AWS_REGION={server.Region}";
        }
        else
        {
            yield return $"Tokens must be signed for region {server.Region} with access key ID {string.Join(", ", options.Credentials.Select(c => c.AccessKeyId))}.";
        }

        var tls = !server.TlsEnabled ? "disable" : root is null ? "require" : "verify-full";
        var rootParameter = root is null ? "" : "&sslrootcert=" + Uri.EscapeDataString(root);
        yield return $"  export DSQL_ENDPOINT='postgresql://admin@{server.Endpoint}:{server.Port}/postgres?region={server.Region}&sslmode={tls}{rootParameter}'";

        var builder = new NpgsqlConnectionStringBuilder(server.GetConnectionString()) { Password = null, Host = server.Endpoint };
        yield return $"Connection string (the password is an IAM token for host {server.Endpoint}): {builder.ConnectionString}";
    }
}
