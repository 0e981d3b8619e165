using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Dsql.Local;
using Dsql.Local.Cli;

namespace EFCore.Dsql.UnitTests.Local;

public sealed class CommandLineTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void Defaults_are_port_5432_on_loopback_with_DSQL_five_minute_transactions()
    {
        var (options, quiet, _) = CommandLine.Parse([], NoEnvironment);
        Assert.Equal(5432, options.Port);
        Assert.Equal(IPAddress.Loopback, options.ListenAddress);
        Assert.Equal(TimeSpan.FromSeconds(300), options.MaxTransactionAge);
        Assert.Single(options.Credentials);
        Assert.Null(options.Certificate);
        Assert.Equal(400, options.MaxConnections);
        Assert.False(options.Durable);
        Assert.False(quiet);
    }

    [Fact]
    public void Without_credentials_each_start_gets_a_fresh_throw_away_pair_and_with_them_or_no_auth_none()
    {
        var first = CommandLine.Parse([], NoEnvironment);
        var second = CommandLine.Parse([], NoEnvironment);
        var generated = Assert.Single(first.Options.Credentials);
        Assert.Same(generated, first.GeneratedCredential);
        Assert.Matches("^AKIDSQLLOCAL[A-Z2-7]{8}$", generated.AccessKeyId);
        Assert.Equal(40, generated.SecretAccessKey.Length);
        Assert.NotEqual(DsqlLocalCredential.DefaultAccessKeyId, generated.AccessKeyId);
        Assert.NotEqual(generated.AccessKeyId, second.GeneratedCredential!.AccessKeyId);
        Assert.NotEqual(generated.SecretAccessKey, second.GeneratedCredential.SecretAccessKey);

        var supplied = CommandLine.Parse(["--credentials", "AKIDMINE:secret"], NoEnvironment);
        Assert.Null(supplied.GeneratedCredential);
        Assert.Equal(["AKIDMINE"], supplied.Options.Credentials.Select(c => c.AccessKeyId));
        var noAuth = CommandLine.Parse(["--no-auth"], NoEnvironment);
        Assert.Null(noAuth.GeneratedCredential);
        Assert.Empty(noAuth.Options.Credentials);
    }

    [Fact]
    public void Permissive_login_is_off_by_default_and_switched_on_by_its_flag()
    {
        Assert.False(CommandLine.Parse([], NoEnvironment).Options.CreateRolesOnLogin);
        Assert.True(CommandLine.Parse(["--create-roles-on-login"], NoEnvironment).Options.CreateRolesOnLogin);
    }

    [Fact]
    public void Parses_every_documented_option()
    {
        var (options, quiet, _) = CommandLine.Parse(
        [
            "--port", "0", "--listen", "0.0.0.0", "--data-dir", "/tmp/x", "--backend", "Host=h", "--region", "eu-west-1", "--endpoint", "c.dsql.eu-west-1.on.aws",
            "--credentials", "AKID1:s:e:c", "--credentials", "AKID2:t", "--no-auth", "--no-tls", "--max-connection-age", "30", "--max-transaction-age", "7",
            "--index-build-delay", "0", "--max-connections", "25", "--login-timeout", "5", "--durable", "--quiet",
        ], NoEnvironment);
        Assert.Equal(0, options.Port);
        Assert.Equal(IPAddress.Any, options.ListenAddress);
        Assert.Equal("/tmp/x", options.DataDirectory);
        Assert.Equal("Host=h", options.Backend);
        Assert.Equal("eu-west-1", options.Region);
        Assert.Equal("c.dsql.eu-west-1.on.aws", options.Endpoint);
        Assert.Equal(["AKID1", "AKID2"], options.Credentials.Select(c => c.AccessKeyId));
        Assert.Equal("s:e:c", options.Credentials[0].SecretAccessKey);
        Assert.True(options.NoAuth);
        Assert.True(options.NoTls);
        Assert.Equal(TimeSpan.FromSeconds(30), options.MaxConnectionAge);
        Assert.Equal(TimeSpan.FromSeconds(7), options.MaxTransactionAge);
        Assert.Equal(TimeSpan.Zero, options.IndexBuildDelay);
        Assert.Equal(25, options.MaxConnections);
        Assert.Equal(TimeSpan.FromSeconds(5), options.LoginTimeout);
        Assert.True(options.Durable);
        Assert.True(quiet);
    }

    [Fact]
    public void Host_is_an_alias_of_listen_and_accepts_IPv6()
        => Assert.Equal(IPAddress.IPv6Any, CommandLine.Parse(["--host", "::"], NoEnvironment).Options.ListenAddress);

    [Fact]
    public void Environment_variables_stand_in_for_missing_options_and_the_command_line_wins()
    {
        var environment = new Dictionary<string, string>
        {
            ["DSQL_LOCAL_PORT"] = "6543",
            ["DSQL_LOCAL_LISTEN"] = "0.0.0.0",
            ["DSQL_LOCAL_REGION"] = "eu-central-1",
            ["DSQL_LOCAL_CREDENTIALS"] = "AKIDENV1:secret-one\nAKIDENV2:secret-two",
            ["DSQL_LOCAL_NO_TLS"] = "true",
            ["DSQL_LOCAL_MAX_TRANSACTION_AGE"] = "9",
            ["DSQL_LOCAL_QUIET"] = "1",
        };

        var (options, quiet, _) = CommandLine.Parse(["--region", "us-west-2"], environment.GetValueOrDefault);

        Assert.Equal(6543, options.Port);
        Assert.Equal(IPAddress.Any, options.ListenAddress);
        Assert.Equal("us-west-2", options.Region);
        Assert.Equal(["AKIDENV1", "AKIDENV2"], options.Credentials.Select(c => c.AccessKeyId));
        Assert.Equal("secret-two", options.Credentials[1].SecretAccessKey);
        Assert.True(options.NoTls);
        Assert.Equal(TimeSpan.FromSeconds(9), options.MaxTransactionAge);
        Assert.True(quiet);
    }

    [Fact]
    public void Credentials_file_supplies_secret_keys_outside_the_process_list()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(file, ["# team keys", "AKIDFILE1:first/secret", "", "  AKIDFILE2:second+secret  "]);
            var options = CommandLine.Parse(["--credentials-file", file], NoEnvironment).Options;
            Assert.Equal(["AKIDFILE1", "AKIDFILE2"], options.Credentials.Select(c => c.AccessKeyId));
            Assert.Equal(["first/secret", "second+secret"], options.Credentials.Select(c => c.SecretAccessKey));

            var fromEnvironment = CommandLine.Parse([], name => name == "DSQL_LOCAL_CREDENTIALS_FILE" ? file : null).Options;
            Assert.Equal(["AKIDFILE1", "AKIDFILE2"], fromEnvironment.Credentials.Select(c => c.AccessKeyId));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Malformed_credentials_file_is_refused_naming_the_file_but_not_its_contents()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(file, ["AKIDGOOD:fine", "no-colon-supersecretvalue"]);
            var error = Assert.Throws<FormatException>(() => CommandLine.Parse(["--credentials-file", file], NoEnvironment));
            Assert.Contains($"--credentials-file '{file}'", error.Message, StringComparison.Ordinal);
            Assert.Contains("ACCESS_KEY_ID:SECRET_ACCESS_KEY", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("supersecretvalue", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Tls_certificate_and_key_are_read_from_PEM_files()
    {
        var directory = Directory.CreateTempSubdirectory("dsql-local-cli-tls-").FullName;
        try
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var certificate = new CertificateRequest("CN=db.example.test", key, HashAlgorithmName.SHA256)
                .CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1));
            var certificatePath = Path.Combine(directory, "server.crt");
            var keyPath = Path.Combine(directory, "server.key");
            File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
            File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());

            var loaded = CommandLine.Parse(["--tls-cert", certificatePath, "--tls-key", keyPath], NoEnvironment).Options.Certificate;

            Assert.NotNull(loaded);
            Assert.Equal(certificate.Thumbprint, loaded.Thumbprint);
            Assert.True(loaded.HasPrivateKey);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(new[] { "--port", "70000" }, "--port must be a whole number from 0 to 65535; got '70000'")]
    [InlineData(new[] { "--credentials", "nocolon" }, "ACCESS_KEY_ID:SECRET_ACCESS_KEY")]
    [InlineData(new[] { "--region" }, "'--region'")]
    [InlineData(new[] { "--max-transaction-age", "0" }, "--max-transaction-age must be a whole number from 1 to")]
    [InlineData(new[] { "--listen", "example.com" }, "--listen must be an IP address such as 127.0.0.1, 0.0.0.0 or ::; got 'example.com'")]
    [InlineData(new[] { "--tls-cert", "server.crt" }, "--tls-cert and --tls-key go together")]
    [InlineData(new[] { "--tls-cert", "a.crt", "--tls-key", "a.key", "--no-tls" }, "--no-tls cannot be combined with --tls-cert")]
    [InlineData(new[] { "--tls-cert", "missing.crt", "--tls-key", "missing.key" }, "--tls-cert 'missing.crt' and --tls-key 'missing.key' are not a usable PEM")]
    [InlineData(new[] { "--bogus" }, "'--bogus'")]
    public void Bad_arguments_are_refused_with_a_message_naming_them(string[] args, string message)
        => Assert.Contains(message, Assert.Throws<FormatException>(() => CommandLine.Parse(args, NoEnvironment)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("DSQL_LOCAL_PORT", "many", "DSQL_LOCAL_PORT must be a whole number from 0 to 65535; got 'many'")]
    [InlineData("DSQL_LOCAL_NO_AUTH", "yes please", "DSQL_LOCAL_NO_AUTH must be true, false, 1 or 0; got 'yes please'")]
    [InlineData("DSQL_LOCAL_CREDENTIALS", "AKIDONLY", "ACCESS_KEY_ID:SECRET_ACCESS_KEY")]
    public void Bad_environment_variables_are_refused_with_a_message_naming_them(string variable, string value, string message)
        => Assert.Contains(
            message,
            Assert.Throws<FormatException>(() => CommandLine.Parse([], name => name == variable ? value : null)).Message,
            StringComparison.Ordinal);
}
