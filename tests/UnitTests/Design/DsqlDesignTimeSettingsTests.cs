#pragma warning disable EF1001 // The settings reader is EFCore.Dsql.Design's internal API.

using Microsoft.EntityFrameworkCore.Dsql.Design.Internal;

namespace EFCore.Dsql.UnitTests.Design;

public sealed class DsqlDesignTimeSettingsTests
{
    private const string Endpoint = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";

    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
        => name => variables.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void Arguments_after_double_dash_give_endpoint_region_profile_and_user()
    {
        var settings = DsqlDesignTimeSettings.Read(
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
        var settings = DsqlDesignTimeSettings.Read([], Env(("DSQL_ENDPOINT", Endpoint), ("DSQL_USER", "reader")), "Ctx");

        var options = settings.ToConnectionOptions("Ctx");

        Assert.Equal(Endpoint, options.Host);
        Assert.Equal("us-east-1", options.Region);
        Assert.Equal("reader", options.Username);
        Assert.Null(options.Profile);
    }

    [Fact]
    public void Arguments_win_over_environment_variables()
    {
        var settings = DsqlDesignTimeSettings.Read(
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
        var settings = DsqlDesignTimeSettings.Read(["--endpoint", "postgresql://app@localhost:6543/postgres?region=us-east-2"], Env(), "Ctx");

        var options = settings.ToConnectionOptions("Ctx");

        Assert.Equal("localhost", options.Host);
        Assert.Equal(6543, options.Port);
        Assert.Equal("us-east-2", options.Region);
        Assert.Equal("app", options.Username);
    }

    [Fact]
    public void No_endpoint_anywhere_explains_both_ways_to_give_one()
    {
        var settings = DsqlDesignTimeSettings.Read([], Env(), "BlogContext");

        var e = Assert.Throws<InvalidOperationException>(() => settings.ToConnectionOptions("BlogContext"));

        Assert.Contains("'BlogContext'", e.Message, StringComparison.Ordinal);
        Assert.Contains("dotnet ef database update -- --endpoint", e.Message, StringComparison.Ordinal);
        Assert.Contains("DSQL_ENDPOINT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Blank_environment_variable_counts_as_not_set()
    {
        var settings = DsqlDesignTimeSettings.Read([], Env(("DSQL_ENDPOINT", "  ")), "Ctx");

        Assert.Throws<InvalidOperationException>(() => settings.ToConnectionOptions("Ctx"));
    }

    [Fact]
    public void Unknown_argument_is_refused_with_the_accepted_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => DsqlDesignTimeSettings.Read(["--endpiont", Endpoint], Env(), "Ctx"));

        Assert.Contains("'--endpiont'", e.Message, StringComparison.Ordinal);
        Assert.Contains("--endpoint, --region, --profile, --user", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_argument_with_a_value_never_echoes_the_value()
    {
        var e = Assert.Throws<ArgumentException>(() => DsqlDesignTimeSettings.Read(["--secret-key=wJalrXUtnFEMI/K7MDENG"], Env(), "Ctx"));

        Assert.DoesNotContain("wJalrXUtnFEMI", e.Message, StringComparison.Ordinal);
        Assert.Contains("--secret-key", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--region")]
    [InlineData("--endpoint=")]
    public void Argument_without_value_is_refused_with_an_example(string argument)
    {
        var e = Assert.Throws<ArgumentException>(() => DsqlDesignTimeSettings.Read([argument], Env(), "Ctx"));

        Assert.Contains("needs a value", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Option_followed_by_another_option_has_no_value()
    {
        var e = Assert.Throws<ArgumentException>(() => DsqlDesignTimeSettings.Read(["--profile", "--region", "us-east-1"], Env(), "Ctx"));

        Assert.Contains("'--profile' needs a value", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Repeated_argument_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => DsqlDesignTimeSettings.Read(["--user", "a", "--user=b"], Env(), "Ctx"));

        Assert.Contains("more than once", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Region_argument_contradicting_the_endpoint_is_refused_by_the_connector()
    {
        var settings = DsqlDesignTimeSettings.Read(["--endpoint", Endpoint, "--region", "eu-west-1"], Env(), "Ctx");

        var e = Assert.Throws<ArgumentException>(() => settings.ToConnectionOptions("Ctx"));

        Assert.Contains("us-east-1", e.Message, StringComparison.Ordinal);
        Assert.Contains("eu-west-1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Password_in_the_endpoint_string_is_refused()
    {
        var settings = DsqlDesignTimeSettings.Read(["--endpoint", $"Host={Endpoint};Password=hunter2"], Env(), "Ctx");

        var e = Assert.Throws<ArgumentException>(() => settings.ToConnectionOptions("Ctx"));

        Assert.Contains("IAM", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
    }
}
