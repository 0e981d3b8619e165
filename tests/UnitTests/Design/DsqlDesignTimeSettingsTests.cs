#pragma warning disable EF1001 // The settings reader is EFCore.Dsql's internal API.

using Microsoft.EntityFrameworkCore.Dsql.Design.Internal;

namespace EFCore.Dsql.UnitTests.Design;

public sealed class DsqlDesignTimeSettingsTests
{
    private const string Endpoint = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";

    private static (string Name, string Value)[] Env(params (string Name, string Value)[] variables) => variables;

    // The factory's path: its own options from the arguments, the rest of the arguments and the configuration for everything else.
    private static DsqlDesignTimeSettings Read(string[] args, (string Name, string Value)[] configuration, string contextName)
    {
        var (options, remaining) = DsqlDesignTimeSettings.SplitArguments(args, contextName);
        var built = new ConfigurationBuilder()
            .AddInMemoryCollection(configuration.Select(c => new KeyValuePair<string, string?>(c.Name, c.Value)))
            .AddCommandLine(remaining)
            .Build();
        return DsqlDesignTimeSettings.Read(options, built, [contextName, "DefaultConnection"]);
    }

    [Fact]
    public void Arguments_after_double_dash_give_endpoint_region_profile_and_user()
    {
        var settings = Read(
            ["--endpoint", "abcdefghijklmnopqrstuvwxyz", "--region", "eu-west-1", "--profile=dev", "--user", "app_user"], Env(), "Ctx");

        var options = settings.ToConnectionOptions("Ctx");

        Assert.Equal("abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws", options.Host);
        Assert.Equal("eu-west-1", options.Region);
        Assert.Equal("dev", options.Profile);
        Assert.Equal("app_user", options.Username);
        Assert.False(options.IsAdmin);
    }

    [Fact]
    public void Environment_variables_are_used_when_no_argument_is_given()
    {
        var settings = Read([], Env(("DSQL_ENDPOINT", Endpoint), ("DSQL_USER", "reader")), "Ctx");

        var options = settings.ToConnectionOptions("Ctx");

        Assert.Equal(Endpoint, options.Host);
        Assert.Equal("us-east-1", options.Region);
        Assert.Equal("reader", options.Username);
        Assert.Null(options.Profile);
    }

    [Fact]
    public void Arguments_win_over_environment_variables()
    {
        var settings = Read(
            ["--endpoint", "zyxwvutsrqponmlkjihgfedcba.dsql.us-west-2.on.aws", "--user", "admin"],
            Env(("DSQL_ENDPOINT", Endpoint), ("DSQL_USER", "reader")),
            "Ctx");

        var options = settings.ToConnectionOptions("Ctx");

        Assert.Equal("zyxwvutsrqponmlkjihgfedcba.dsql.us-west-2.on.aws", options.Host);
        Assert.Equal("admin", options.Username);
        Assert.True(options.IsAdmin);
    }

    [Fact]
    public void Endpoint_may_be_a_uri_with_region_port_and_user()
    {
        var settings = Read(["--endpoint", "postgresql://app@localhost:6543/postgres?region=us-east-2"], Env(), "Ctx");

        var options = settings.ToConnectionOptions("Ctx");

        Assert.Equal("localhost", options.Host);
        Assert.Equal(6543, options.Port);
        Assert.Equal("us-east-2", options.Region);
        Assert.Equal("app", options.Username);
    }

    [Fact]
    public void No_endpoint_anywhere_explains_both_ways_to_give_one()
    {
        var settings = Read([], Env(), "BlogContext");

        var e = Assert.Throws<InvalidOperationException>(() => settings.ToConnectionOptions("BlogContext"));

        Assert.Contains("'BlogContext'", e.Message, StringComparison.Ordinal);
        Assert.Contains("dotnet ef database update -- --endpoint", e.Message, StringComparison.Ordinal);
        Assert.Contains("DSQL_ENDPOINT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Blank_environment_variable_counts_as_not_set()
    {
        var settings = Read([], Env(("DSQL_ENDPOINT", "  ")), "Ctx");

        Assert.Throws<InvalidOperationException>(() => settings.ToConnectionOptions("Ctx"));
    }

    [Fact]
    public void Other_arguments_are_read_as_configuration_like_the_host_does()
    {
        var settings = Read(["--DSQL_ENDPOINT", Endpoint, "--DSQL_USER=reader"], Env(), "Ctx");

        var options = settings.ToConnectionOptions("Ctx");

        Assert.Equal(Endpoint, options.Host);
        Assert.Equal("reader", options.Username);
    }

    [Fact]
    public void Connection_string_named_after_the_context_is_used_when_no_endpoint_is_given()
    {
        var settings = Read([], Env(("ConnectionStrings:Ctx", $"Host={Endpoint};Username=app_user"), ("ConnectionStrings:DefaultConnection", "zyxwvutsrqponmlkjihgfedcba.dsql.us-west-2.on.aws")), "Ctx");

        var options = settings.ToConnectionOptions("Ctx");

        Assert.Equal(Endpoint, options.Host);
        Assert.Equal("app_user", options.Username);
        Assert.Equal("ConnectionStrings:Ctx", settings.EndpointSource);
    }

    [Fact]
    public void DSQL_ENDPOINT_wins_over_a_connection_string()
    {
        var settings = Read([], Env(("DSQL_ENDPOINT", Endpoint), ("ConnectionStrings:Ctx", "zyxwvutsrqponmlkjihgfedcba.dsql.us-west-2.on.aws")), "Ctx");

        Assert.Equal(Endpoint, settings.ToConnectionOptions("Ctx").Host);
    }

    [Fact]
    public void AWS_section_gives_the_region_of_a_cluster_ID_and_the_profile()
    {
        var settings = Read([], Env(("DSQL_ENDPOINT", "abcdefghijklmnopqrstuvwxyz"), ("AWS:Region", "eu-west-1"), ("AWS:Profile", "dev")), "Ctx");

        var options = settings.ToConnectionOptions("Ctx");

        Assert.Equal("abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws", options.Host);
        Assert.Equal("eu-west-1", options.Region);
        Assert.Equal("dev", options.Profile);
    }

    [Fact]
    public void AWS_section_region_never_contradicts_the_region_an_endpoint_names()
    {
        var settings = Read([], Env(("DSQL_ENDPOINT", Endpoint), ("AWS:Region", "eu-west-1")), "Ctx");

        Assert.Equal("us-east-1", settings.ToConnectionOptions("Ctx").Region);
    }

    [Fact]
    public void Missing_endpoint_message_names_the_connection_strings_that_were_looked_up()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Read([], Env(), "ShopContext").ToConnectionOptions("ShopContext"));

        Assert.Contains("'ConnectionStrings:ShopContext' or 'ConnectionStrings:DefaultConnection'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--region")]
    [InlineData("--endpoint=")]
    public void Argument_without_value_is_refused_with_an_example(string argument)
    {
        var e = Assert.Throws<ArgumentException>(() => Read([argument], Env(), "Ctx"));

        Assert.Contains("needs a value", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Option_followed_by_another_option_has_no_value()
    {
        var e = Assert.Throws<ArgumentException>(() => Read(["--profile", "--region", "us-east-1"], Env(), "Ctx"));

        Assert.Contains("'--profile' needs a value", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Repeated_argument_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => Read(["--user", "a", "--user=b"], Env(), "Ctx"));

        Assert.Contains("more than once", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Region_argument_contradicting_the_endpoint_is_refused_by_the_connector()
    {
        var settings = Read(["--endpoint", Endpoint, "--region", "eu-west-1"], Env(), "Ctx");

        var e = Assert.Throws<ArgumentException>(() => settings.ToConnectionOptions("Ctx"));

        Assert.Contains("us-east-1", e.Message, StringComparison.Ordinal);
        Assert.Contains("eu-west-1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Password_in_the_endpoint_string_is_refused()
    {
        var settings = Read(["--endpoint", $"Host={Endpoint};Password=hunter2"], Env(), "Ctx");

        var e = Assert.Throws<ArgumentException>(() => settings.ToConnectionOptions("Ctx"));

        Assert.Contains("IAM", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
    }
}
