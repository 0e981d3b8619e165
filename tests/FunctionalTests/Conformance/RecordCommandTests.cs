using System.Text.Json.Nodes;
using Dsql.Local;
using Dsql.Local.Cli;
using Dsql.Local.Conformance;
using EFCore.Dsql.FunctionalTests.Design;
using EFCore.Dsql.FunctionalTests.Infrastructure;
using EFCore.Dsql.FunctionalTests.Local;

namespace EFCore.Dsql.FunctionalTests.Conformance;

/// <summary>
/// <c>dsql-local record</c> against the emulator (a DSQL endpoint with IAM tokens and verified TLS): the record it
/// writes parses, holds every probe of the embedded corpus, matches the vendored record, replays, and a baseline that
/// differs in one answer is reported as exactly that one difference.
/// </summary>
public sealed class RecordCommandTests
{
    [Fact]
    public async Task Record_against_the_emulator_writes_a_record_that_parses_replays_and_is_compared_with_a_baseline()
    {
        var vendored = RepositoryFiles.TestData("dsql-conformance");
        using var workOwner = new TempDirectory("dsql-record-");
        var work = workOwner.Path;
        var recordDirectory = Path.Combine(work, "record");
        await using (var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions()))
        {
            var endpoint = $"postgresql://admin@{server.Endpoint}:{server.Port}/postgres?region={server.Region}&sslmode=verify-full"
                           + $"&sslrootcert={Uri.EscapeDataString(server.RootCertificatePath!)}";
            // Only the emulator's key pair signs the tokens: nothing of the machine's AWS set-up may reach the command.
            var environment = new Dictionary<string, string?>
            {
                ["AWS_ACCESS_KEY_ID"] = server.Credential.AccessKeyId, ["AWS_SECRET_ACCESS_KEY"] = server.Credential.SecretAccessKey,
                ["AWS_SESSION_TOKEN"] = null, ["AWS_PROFILE"] = null, ["AWS_DEFAULT_PROFILE"] = null, ["AWS_REGION"] = null,
            };
            var result = await DotnetEfTool.RunAsync(
                "dotnet", [DsqlLocalToolTests.ToolDll(), "record", "--endpoint", endpoint, "--out", recordDirectory, "--compare", vendored], work, environment);
            Assert.True(result.ExitCode == 0, result.Output);
            Assert.Contains("Recording 242 probes (the corpus embedded in dsql-local)", result.Output, StringComparison.Ordinal);
            Assert.Contains($"Recorded 242 answers in 14 groups to {recordDirectory}", result.Output, StringComparison.Ordinal);
            Assert.Contains($"0 of 242 answers differ from {vendored}", result.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(server.Credential.SecretAccessKey, result.Output, StringComparison.Ordinal);
        }

        var record = ConformanceRecord.Load(recordDirectory);
        Assert.Equal(242, record.CaseCount);
        Assert.Equal(ConformanceRecord.GroupOrder, record.Groups.Select(g => g.Name));
        var first = record.Groups.Single(g => g.Name == "environment").Document;
        Assert.Equal("localhost", (string?)first["target"]);
        Assert.Equal("PostgreSQL 16", (string?)first["server_version"]);
        var version = record.Groups.Single(g => g.Name == "environment").Cases.Single(c => (string?)c["name"] == "env_server_version");
        Assert.Equal("SHOW", (string?)version["observations"]![0]!["command_tag"]);
        Assert.Single(version["observations"]![0]!["rows"]!.AsArray());

        // The replay test reads the new record as it reads the vendored one.
        var (summary, _, regressions) = await ConformanceTests.ReplayAsync(record);
        Assert.True(regressions.Count == 0, summary + Environment.NewLine + string.Join(Environment.NewLine, regressions));
        Assert.StartsWith("conformance: 242/242 cases match", summary, StringComparison.Ordinal);

        // A baseline that answers one probe differently: that probe, and only it, is reported.
        var baselineDirectory = Path.Combine(work, "baseline");
        Directory.CreateDirectory(baselineDirectory);
        foreach (var file in Directory.GetFiles(vendored))
        {
            File.Copy(file, Path.Combine(baselineDirectory, Path.GetFileName(file)));
        }

        var queries = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(baselineDirectory, "queries.json")))!;
        var changed = queries["cases"]!.AsArray().Select(c => c!.AsObject()).First(c => (string?)c["observations"]?[0]?["outcome"] == "ok");
        changed["observations"]![0]!["command_tag"] = "SELECT 999";
        await File.WriteAllTextAsync(Path.Combine(baselineDirectory, "queries.json"), queries.ToJsonString());
        var differences = RecordCommand.Differences(ConformanceRecord.Load(baselineDirectory), record.Groups).ToList();
        var difference = Assert.Single(differences);
        Assert.StartsWith($"queries/{(string?)changed["name"]}: step 1", difference, StringComparison.Ordinal);
        Assert.Contains("expected ok \"SELECT 999\"", difference, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Record_with_an_endpoint_the_connector_cannot_parse_fails_with_its_message_and_writes_nothing()
    {
        var outDirectory = Path.Combine(Path.GetTempPath(), "dsql-record-bad-" + Guid.NewGuid().ToString("N"));
        var result = await DotnetEfTool.RunAsync(
            "dotnet", [DsqlLocalToolTests.ToolDll(), "record", "--endpoint", "mysql://admin@localhost/postgres", "--out", outDirectory], RepositoryFiles.RepositoryRoot,
            new Dictionary<string, string?>());
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("dsql-local record: ", result.Output, StringComparison.Ordinal);
        Assert.Contains("unsupported URI scheme", result.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDirectory));
    }
}
