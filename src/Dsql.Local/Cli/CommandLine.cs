using System.Globalization;

namespace Dsql.Local.Cli;

/// <summary>Parses the emulator's command line into <see cref="DsqlLocalOptions"/>.</summary>
internal static class CommandLine
{
    public const string Usage = """
        Usage: dotnet run --project src/Dsql.Local -- --port <port> [--data-dir <dir>] [--backend "<Npgsql connection string>" | --backend docker]
                 [--region <region>] [--endpoint <cluster host name>] [--credentials <accessKeyId>:<secretAccessKey> ...]
                 [--no-auth] [--no-tls] [--max-connection-age <seconds>] [--max-transaction-age <seconds>]
                 [--index-build-delay <seconds>] [--quiet]

          --port                 loopback port to listen on (0 picks a free one; default 5432)
          --data-dir             data directory of the PostgreSQL it starts (default: a temporary one, deleted at exit)
          --backend              use this PostgreSQL (a superuser connection string) or 'docker' (Testcontainers)
          --region               AWS region tokens must be scoped to (default us-east-1)
          --endpoint             host name tokens must be signed for (default localhost or 127.0.0.1)
          --credentials          an accepted access key pair; repeatable (default: a documented throw-away pair)
          --no-auth              accept any password
          --no-tls               decline TLS
          --max-connection-age   close connections after this many seconds (default 3600)
          --max-transaction-age  fail statements of transactions older than this many seconds (default 300)
          --index-build-delay    seconds before an async index build completes on its own (default 2)
        """;

    /// <summary>Parses <paramref name="args"/>; throws <see cref="FormatException"/> with a message naming the bad argument.</summary>
    public static (DsqlLocalOptions Options, bool Quiet) Parse(IReadOnlyList<string> args)
    {
        var options = new DsqlLocalOptions { Port = 5432 };
        var quiet = false;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            string Value()
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new FormatException($"{name} needs a value.");
                }

                return args[++i];
            }

            switch (name)
            {
                case "--port":
                    options.Port = ParseInt(name, Value(), 0, 65535);
                    break;
                case "--data-dir":
                    options.DataDirectory = Value();
                    break;
                case "--backend":
                    options.Backend = Value();
                    break;
                case "--region":
                    options.Region = Value();
                    break;
                case "--endpoint":
                    options.Endpoint = Value();
                    break;
                case "--credentials":
                    options.Credentials.Add(DsqlLocalCredential.Parse(Value()));
                    break;
                case "--no-auth":
                    options.NoAuth = true;
                    break;
                case "--no-tls":
                    options.NoTls = true;
                    break;
                case "--max-connection-age":
                    options.MaxConnectionAge = TimeSpan.FromSeconds(ParseInt(name, Value(), 1, int.MaxValue));
                    break;
                case "--max-transaction-age":
                    options.MaxTransactionAge = TimeSpan.FromSeconds(ParseInt(name, Value(), 1, int.MaxValue));
                    break;
                case "--index-build-delay":
                    options.IndexBuildDelay = TimeSpan.FromSeconds(ParseInt(name, Value(), 0, 86400));
                    break;
                case "--quiet":
                    quiet = true;
                    break;
                default:
                    throw new FormatException($"Unknown argument '{name}'.");
            }
        }

        return (options, quiet);
    }

    private static int ParseInt(string name, string value, int min, int max)
        => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var result) && result >= min && result <= max
            ? result
            : throw new FormatException($"{name} must be a whole number from {min} to {max}; got '{value}'.");
}
