using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Dsql.Local.Cli;

/// <summary>What the command line asks for: the emulator's options and how the command itself behaves.</summary>
/// <param name="Options">The emulator's configuration.</param>
/// <param name="Quiet">No log lines on standard error.</param>
/// <param name="GeneratedCredential">
/// The throw-away key pair generated for this start because none was configured (it is in <see cref="DsqlLocalOptions.Credentials"/>,
/// and its secret is printed: it protects nothing beyond this run); null when the user supplied credentials or turned auth off.
/// </param>
internal sealed record CliSettings(DsqlLocalOptions Options, bool Quiet, DsqlLocalCredential? GeneratedCredential = null);

/// <summary>
/// The <c>dsql-local</c> command's options. Every option falls back to a <c>DSQL_LOCAL_*</c> environment variable (named
/// in <c>--help</c>) when it is not on the command line, so containers and CI can configure it without arguments, and
/// secret keys need not appear in the process list.
/// </summary>
internal sealed class CommandLine
{
    private readonly Func<string, string?> _environment;

    private readonly Option<int> _port;
    private readonly Option<IPAddress> _listen;
    private readonly Option<string?> _dataDirectory;
    private readonly Option<string?> _backend;
    private readonly Option<string> _region;
    private readonly Option<string?> _endpoint;
    private readonly Option<List<DsqlLocalCredential>> _credentials;
    private readonly Option<List<DsqlLocalCredential>> _credentialsFile;
    private readonly Option<bool> _noAuth;
    private readonly Option<bool> _createRolesOnLogin;
    private readonly Option<bool> _noTls;
    private readonly Option<string?> _tlsCertificate;
    private readonly Option<string?> _tlsKey;
    private readonly Option<int> _maxConnectionAge;
    private readonly Option<int> _maxTransactionAge;
    private readonly Option<int> _indexBuildDelay;
    private readonly Option<int> _maxConnections;
    private readonly Option<int> _loginTimeout;
    private readonly Option<bool> _durable;
    private readonly Option<bool> _quiet;

    /// <summary>Defines the options; <paramref name="environment"/> reads environment variables (the process's by default).</summary>
    public CommandLine(Func<string, string?>? environment = null)
    {
        _environment = environment ?? Environment.GetEnvironmentVariable;
        _port = Define("--port", "DSQL_LOCAL_PORT", "TCP port to listen on (0 picks a free one)", 5432, (value, name) => ParseInt(name, value, 0, 65535));
        _listen = Define(
            "--listen", "DSQL_LOCAL_LISTEN", "address to listen on: 127.0.0.1 (loopback), 0.0.0.0 or :: to serve other machines or containers",
            IPAddress.Loopback, ParseAddress, "--host");
        _dataDirectory = Define<string?>(
            "--data-dir", "DSQL_LOCAL_DATA_DIR",
            "directory for the PostgreSQL it starts and the TLS root certificate; kept across restarts (default: a temporary one, deleted at exit)",
            null, (value, _) => value);
        _backend = Define<string?>(
            "--backend", "DSQL_LOCAL_BACKEND", "an existing PostgreSQL to use: a superuser Npgsql connection string (default: start one from this machine's binaries)",
            null, (value, _) => value);
        _region = Define("--region", "DSQL_LOCAL_REGION", "AWS region tokens must be scoped to", "us-east-1", (value, _) => value);
        _endpoint = Define<string?>(
            "--endpoint", "DSQL_LOCAL_ENDPOINT", "host name tokens must be signed for, also put in the TLS certificate (default: localhost or 127.0.0.1)",
            null, (value, _) => value);
        _credentials = DefineCredentials(
            "--credentials", "DSQL_LOCAL_CREDENTIALS",
            "an accepted access key pair ACCESS_KEY_ID:SECRET_ACCESS_KEY, optionally followed by :IAM_ARN (the identity AWS IAM GRANT names), repeatable; visible in the process list, so prefer the variable " +
            "(pairs separated by spaces or new lines) or --credentials-file (default: a throw-away pair generated at each start and printed)",
            static (value, _) => ParsePairs(value, "DSQL_LOCAL_CREDENTIALS"));
        _credentialsFile = DefineCredentials(
            "--credentials-file", "DSQL_LOCAL_CREDENTIALS_FILE", "a file of accepted access key pairs, one ACCESS_KEY_ID:SECRET_ACCESS_KEY a line ('#' starts a comment)",
            static (value, name) => ReadPairs(value, name));
        _noAuth = DefineFlag("--no-auth", "DSQL_LOCAL_NO_AUTH", "accept any password");
        _createRolesOnLogin = DefineFlag(
            "--create-roles-on-login", "DSQL_LOCAL_CREATE_ROLES_ON_LOGIN",
            "the old permissive login: any role name logs in and is created on the fly, no AWS IAM GRANT needed (default: as on DSQL)");
        _noTls = DefineFlag("--no-tls", "DSQL_LOCAL_NO_TLS", "decline TLS");
        _tlsCertificate = Define<string?>(
            "--tls-cert", "DSQL_LOCAL_TLS_CERT",
            "PEM file of the server certificate to serve, with --tls-key (default: one issued by a root certificate written to the data directory)",
            null, (value, _) => value);
        _tlsKey = Define<string?>("--tls-key", "DSQL_LOCAL_TLS_KEY", "PEM file of the private key of --tls-cert", null, (value, _) => value);
        _maxConnectionAge = Define(
            "--max-connection-age", "DSQL_LOCAL_MAX_CONNECTION_AGE", "seconds after which connections are closed", 3600, (value, name) => ParseInt(name, value, 1, int.MaxValue));
        _maxTransactionAge = Define(
            "--max-transaction-age", "DSQL_LOCAL_MAX_TRANSACTION_AGE", "seconds after which a transaction's statements fail, as on DSQL",
            300, (value, name) => ParseInt(name, value, 1, int.MaxValue));
        _indexBuildDelay = Define(
            "--index-build-delay", "DSQL_LOCAL_INDEX_BUILD_DELAY", "seconds before an asynchronous index build completes on its own",
            2, (value, name) => ParseInt(name, value, 0, 86400));
        _maxConnections = Define(
            "--max-connections", "DSQL_LOCAL_MAX_CONNECTIONS", "logged-in connections served at once; one more gets DSQL's too-many-connections answer",
            400, (value, name) => ParseInt(name, value, 1, 100_000));
        _loginTimeout = Define(
            "--login-timeout", "DSQL_LOCAL_LOGIN_TIMEOUT", "seconds a connection may take to log in before it is closed",
            30, (value, name) => ParseInt(name, value, 1, 3600));
        _durable = DefineFlag(
            "--durable", "DSQL_LOCAL_DURABLE",
            "run the PostgreSQL it starts with fsync, synchronous_commit and full_page_writes on, so acknowledged commits survive crashes (slower)");
        _quiet = DefineFlag("--quiet", "DSQL_LOCAL_QUIET", "no log lines on standard error");

        Root = new RootCommand("Runs Dsql.Local, a local Amazon Aurora DSQL emulator: a PostgreSQL wire-protocol proxy with IAM token checks in front of a real PostgreSQL, until Ctrl+C or SIGTERM.")
        {
            _port, _listen, _dataDirectory, _backend, _region, _endpoint, _credentials, _credentialsFile, _noAuth, _createRolesOnLogin, _noTls, _tlsCertificate, _tlsKey,
            _maxConnectionAge, _maxTransactionAge, _indexBuildDelay, _maxConnections, _loginTimeout, _durable, _quiet,
        };
        Root.Validators.Add(result =>
        {
            if ((result.GetValue(_tlsCertificate) is null) != (result.GetValue(_tlsKey) is null))
            {
                result.AddError("--tls-cert and --tls-key go together: pass both PEM files, or neither to use the emulator's own root certificate.");
            }
            else if (result.GetValue(_tlsCertificate) is not null && result.GetValue(_noTls))
            {
                result.AddError("--no-tls cannot be combined with --tls-cert and --tls-key.");
            }
        });
    }

    /// <summary>The root command, without an action; the program sets one.</summary>
    public RootCommand Root { get; }

    /// <summary>Parses <paramref name="args"/>; throws <see cref="FormatException"/> with a message naming each bad argument.</summary>
    public static CliSettings Parse(IReadOnlyList<string> args, Func<string, string?>? environment = null)
    {
        var commandLine = new CommandLine(environment);
        var result = commandLine.Root.Parse(args);
        return result.Errors.Count > 0
            ? throw new FormatException(string.Join(Environment.NewLine, result.Errors.Select(e => e.Message)))
            : commandLine.Bind(result);
    }

    /// <summary>Builds the settings from a parse without errors; reads the TLS files (throws <see cref="FormatException"/> when they are unusable).</summary>
    public CliSettings Bind(ParseResult result)
    {
        var options = new DsqlLocalOptions
        {
            Port = result.GetValue(_port),
            ListenAddress = result.GetValue(_listen)!,
            DataDirectory = result.GetValue(_dataDirectory),
            Backend = result.GetValue(_backend),
            Region = result.GetValue(_region)!,
            Endpoint = result.GetValue(_endpoint),
            NoAuth = result.GetValue(_noAuth),
            CreateRolesOnLogin = result.GetValue(_createRolesOnLogin),
            NoTls = result.GetValue(_noTls),
            MaxConnectionAge = TimeSpan.FromSeconds(result.GetValue(_maxConnectionAge)),
            MaxTransactionAge = TimeSpan.FromSeconds(result.GetValue(_maxTransactionAge)),
            IndexBuildDelay = TimeSpan.FromSeconds(result.GetValue(_indexBuildDelay)),
            MaxConnections = result.GetValue(_maxConnections),
            LoginTimeout = TimeSpan.FromSeconds(result.GetValue(_loginTimeout)),
            Durable = result.GetValue(_durable),
        };
        foreach (var credential in (result.GetValue(_credentials) ?? []).Concat(result.GetValue(_credentialsFile) ?? []))
        {
            options.Credentials.Add(credential);
        }

        if (result.GetValue(_tlsCertificate) is { } certificate && result.GetValue(_tlsKey) is { } key)
        {
            options.Certificate = LoadCertificate(certificate, key);
        }

        DsqlLocalCredential? generated = null;
        if (options.Credentials.Count == 0 && !options.NoAuth)
        {
            generated = GenerateCredential();
            options.Credentials.Add(generated);
        }

        return new CliSettings(options, result.GetValue(_quiet), generated);
    }

    /// <summary>
    /// A fresh throw-away key pair: an access key ID shaped like AWS's (20 upper-case characters, <c>AKIDSQLLOCAL</c> and
    /// 8 random ones) and a 40-character random secret, so a well-known key cannot reach an emulator listening beyond loopback.
    /// </summary>
    internal static DsqlLocalCredential GenerateCredential()
    {
        const string upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        const string secret = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        return new DsqlLocalCredential(
            "AKIDSQLLOCAL" + RandomNumberGenerator.GetString(upper, 8),
            RandomNumberGenerator.GetString(secret, 40));
    }

    private Option<T> Define<T>(string name, string variable, string description, T defaultValue, Func<string, string, T> parse, params string[] aliases)
    {
        var option = new Option<T>(name, aliases)
        {
            Description = $"{description} [env {variable}]",
            CustomParser = result => Parse(result, result.Tokens[0].Value, name),
        };
        option.DefaultValueFactory = result => _environment(variable) is { Length: > 0 } value ? Parse(result, value, variable) : defaultValue;
        return option;

        T Parse(ArgumentResult result, string value, string source)
        {
            try
            {
                return parse(value, source);
            }
            catch (FormatException e)
            {
                result.AddError(e.Message);
                return defaultValue;
            }
        }
    }

    private Option<List<DsqlLocalCredential>> DefineCredentials(string name, string variable, string description, Func<string, string, List<DsqlLocalCredential>> parse)
    {
        var option = new Option<List<DsqlLocalCredential>>(name)
        {
            Description = $"{description} [env {variable}]",
            CustomParser = result => Parse(result, result.Tokens.Select(t => (t.Value, name))),
        };
        option.DefaultValueFactory = result => _environment(variable) is { Length: > 0 } value ? Parse(result, [(value, variable)]) : [];
        return option;

        List<DsqlLocalCredential> Parse(ArgumentResult result, IEnumerable<(string Value, string Source)> values)
        {
            try
            {
                return [.. values.SelectMany(v => parse(v.Value, v.Source))];
            }
            catch (FormatException e)
            {
                result.AddError(e.Message);
                return [];
            }
        }
    }

    private Option<bool> DefineFlag(string name, string variable, string description)
    {
        var option = new Option<bool>(name) { Description = $"{description} [env {variable}=true]" };
        option.DefaultValueFactory = result =>
        {
            var value = _environment(variable);
            if (string.IsNullOrEmpty(value) || value is "0" || value.Equals("false", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            if (value is "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            result.AddError($"{variable} must be true, false, 1 or 0; got '{value}'.");
            return false;
        };
        return option;
    }

    private static int ParseInt(string name, string value, int min, int max)
        => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var result) && result >= min && result <= max
            ? result
            : throw new FormatException($"{name} must be a whole number from {min} to {max}; got '{value}'.");

    private static IPAddress ParseAddress(string value, string name)
        => value.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(value, out var address) ? address
            : throw new FormatException($"{name} must be an IP address such as 127.0.0.1, 0.0.0.0 or ::; got '{value}'.");

    private static List<DsqlLocalCredential> ParsePairs(string value, string source)
    {
        var pairs = value.Split((char[])[' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        return pairs.Length == 0
            ? throw new FormatException($"{source} holds no ACCESS_KEY_ID:SECRET_ACCESS_KEY pair.")
            : [.. pairs.Select(DsqlLocalCredential.Parse)];
    }

    private static List<DsqlLocalCredential> ReadPairs(string path, string source)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"{source}: cannot read '{path}': {e.Message}");
        }

        var pairs = lines.Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        try
        {
            return pairs.Count == 0
                ? throw new FormatException("it holds no ACCESS_KEY_ID:SECRET_ACCESS_KEY line")
                : [.. pairs.Select(DsqlLocalCredential.Parse)];
        }
        catch (FormatException e)
        {
            // The message names the file, never the line: it may hold a secret.
            throw new FormatException($"{source} '{path}': {e.Message}");
        }
    }

    private static X509Certificate2 LoadCertificate(string certificatePath, string keyPath)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new FormatException($"--tls-cert '{certificatePath}' and --tls-key '{keyPath}' are not a usable PEM certificate and private key: {e.Message}");
        }
    }
}
