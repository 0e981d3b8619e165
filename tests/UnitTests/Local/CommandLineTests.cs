using Dsql.Local.Cli;

namespace EFCore.Dsql.UnitTests.Local;

public sealed class CommandLineTests
{
    [Fact]
    public void Transaction_age_defaults_to_DSQL_five_minutes()
        => Assert.Equal(TimeSpan.FromSeconds(300), CommandLine.Parse([]).Options.MaxTransactionAge);

    [Fact]
    public void Parses_every_documented_option()
    {
        var (options, quiet) = CommandLine.Parse(
        [
            "--port", "0", "--data-dir", "/tmp/x", "--backend", "Host=h", "--region", "eu-west-1", "--endpoint", "c.dsql.eu-west-1.on.aws",
            "--credentials", "AKID1:s:e:c", "--credentials", "AKID2:t", "--no-auth", "--no-tls", "--max-connection-age", "30", "--max-transaction-age", "7", "--quiet",
        ]);
        Assert.Equal(0, options.Port);
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
        Assert.True(quiet);
    }

    [Theory]
    [InlineData(new[] { "--port", "70000" }, "--port must be a whole number from 0 to 65535")]
    [InlineData(new[] { "--credentials", "nocolon" }, "ACCESS_KEY_ID:SECRET_ACCESS_KEY")]
    [InlineData(new[] { "--region" }, "--region needs a value")]
    [InlineData(new[] { "--max-transaction-age", "0" }, "--max-transaction-age must be a whole number from 1 to")]
    [InlineData(new[] { "--bogus" }, "Unknown argument '--bogus'")]
    public void Bad_arguments_are_refused_with_a_message_naming_them(string[] args, string message)
        => Assert.Contains(message, Assert.Throws<FormatException>(() => CommandLine.Parse(args)).Message, StringComparison.Ordinal);
}
