using System.Diagnostics;

namespace EFCore.Dsql.FunctionalTests.Sample;

/// <summary>Runs every example of samples/Connector as a user does: by name, on its own emulator or on DSQL_ENDPOINT.</summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class ConnectorSampleTests(DsqlLocalFixture fixture)
{
    public static TheoryData<string, string> ExamplesAndTheirResult => new()
    {
        { "basic", "basic: read back John Doe of Anytown as admin" },
        { "async", "async: 2 visits committed in one transaction" },
        { "pool", "pool: 5 opens, 1 physical connection(s)" },
        { "concurrent", "concurrent: 8 tasks over at most 3 connections computed 1, 4, 9, 16, 25, 36, 49, 64" },
        { "single", "single: connected as admin to PostgreSQL 16.15" },
        { "dapper", "dapper: after three transfers alice has 70, bob has 30" },
    };

    [Theory]
    [MemberData(nameof(ExamplesAndTheirResult))]
    public async Task Example_runs_against_the_cluster_DSQL_ENDPOINT_names(string example, string result)
    {
        var (exitCode, output) = await RunAsync(example, new Dictionary<string, string?>
        {
            ["DSQL_ENDPOINT"] = $"postgresql://admin@{fixture.Endpoint}:{fixture.Port}/postgres?region={fixture.Region}&sslmode=require",
            ["AWS_ACCESS_KEY_ID"] = fixture.Credential.AccessKeyId,
            ["AWS_SECRET_ACCESS_KEY"] = fixture.Credential.SecretAccessKey,
        });

        Assert.True(exitCode == 0, output);
        Assert.Contains($"Target: Aurora DSQL cluster {fixture.Endpoint} ({fixture.Region}) as admin", output, StringComparison.Ordinal);
        Assert.Contains(result, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task All_examples_run_on_their_own_emulator_by_default()
    {
        var (exitCode, output) = await RunAsync("all", new Dictionary<string, string?> { ["DSQL_ENDPOINT"] = null });

        Assert.True(exitCode == 0, output);
        Assert.Contains("Target: Dsql.Local emulator on 127.0.0.1:", output, StringComparison.Ordinal);
        foreach (var result in ExamplesAndTheirResult.Select(row => (string)row[1]))
        {
            Assert.Contains(result, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Unknown_example_prints_the_names_and_fails()
    {
        var (exitCode, output) = await RunAsync("nosuch", new Dictionary<string, string?> { ["DSQL_ENDPOINT"] = null });

        Assert.Equal(2, exitCode);
        Assert.Contains("<basic|async|pool|concurrent|single|dapper|all>", output, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string example, Dictionary<string, string?> environment)
    {
        var startInfo = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        startInfo.ArgumentList.Add(SampleDll());
        startInfo.ArgumentList.Add(example);
        foreach (var name in (string[])["DSQL_USER", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"])
        {
            startInfo.Environment.Remove(name); // nothing from the developer's AWS set-up
        }

        startInfo.WithEnvironment(environment);

        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string SampleDll()
    {
        // The test runs from tests/FunctionalTests/bin/<Configuration>/<tfm>/; the sample builds in the same configuration.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var path = Path.Combine(RepositoryFiles.RepositoryRoot, "samples", "Connector", "bin", output.Parent!.Name, output.Name, "Connector.dll");
        Assert.True(File.Exists(path), $"The Connector sample was not built at {path}.");
        return path;
    }
}
