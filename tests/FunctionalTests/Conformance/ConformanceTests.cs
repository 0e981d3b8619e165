using System.Text;
using Dsql.Local;
using Dsql.Local.Conformance;
using EFCore.Dsql.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace EFCore.Dsql.FunctionalTests.Conformance;

/// <summary>
/// Replays every case a real Aurora DSQL cluster answered against a fresh emulator and compares outcome, SQLSTATE,
/// message, command tag and column names step by step. The record is <c>tests/data/dsql-conformance</c>, or the
/// directory in <c>DSQL_CONFORMANCE_RECORD</c> (for example one written by <c>dsql-local record</c> against a cluster).
/// </summary>
public sealed class ConformanceTests(ITestOutputHelper output)
{
    /// <summary>The variable naming a record directory to replay instead of the vendored one.</summary>
    public const string RecordVariable = "DSQL_CONFORMANCE_RECORD";

    [Fact]
    public async Task Emulator_answers_like_the_recorded_cluster()
    {
        var directory = Environment.GetEnvironmentVariable(RecordVariable) is { Length: > 0 } chosen ? chosen : RepositoryFiles.TestData("dsql-conformance");
        var (summary, report, regressions) = await ReplayAsync(ConformanceRecord.Load(directory));
        output.WriteLine(summary);
        output.WriteLine(report);
        if (Environment.GetEnvironmentVariable("DSQL_TEST_SUMMARY_DIR") is { Length: > 0 } summaries)
        {
            Directory.CreateDirectory(summaries);
            await File.WriteAllTextAsync(Path.Combine(summaries, "conformance.txt"), summary + Environment.NewLine);
        }

        Assert.True(regressions.Count == 0, $"{summary}; differences not listed in KnownGaps:{Environment.NewLine}{string.Join(Environment.NewLine, regressions)}");
    }

    /// <summary>Replays <paramref name="record"/> against a fresh emulator: the summary line, the known-gap report and the unexpected differences.</summary>
    internal static async Task<(string Summary, string Report, List<string> Regressions)> ReplayAsync(ConformanceRecord record)
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        var runner = new ConformanceRunner(_ => ConnectAsync(server));
        await runner.RunSetupAsync(record.Setup, CancellationToken.None);

        var total = 0;
        var matched = 0;
        var regressions = new List<string>();
        var report = new StringBuilder();
        foreach (var group in record.Groups)
        {
            foreach (var testCase in group.Cases)
            {
                var name = (string)testCase["name"]!;
                total++;
                var difference = RecordComparer.Compare(testCase, await runner.RecordCaseAsync(testCase, CancellationToken.None));
                if (difference is null)
                {
                    matched++;
                    if (KnownGaps.Reasons.ContainsKey(name))
                    {
                        report.AppendLine($"now matches (remove from KnownGaps): {group.Name}/{name}");
                    }

                    continue;
                }

                if (KnownGaps.Reasons.TryGetValue(name, out var reason))
                {
                    report.AppendLine($"known gap {group.Name}/{name}: {difference} ({reason})");
                }
                else
                {
                    regressions.Add($"{group.Name}/{name}: {difference}");
                }
            }
        }

        return ($"conformance: {matched}/{total} cases match (record: {record.Source})", report.ToString(), regressions);
    }

    private static Task<RawPgClient> ConnectAsync(DsqlLocalServer server)
        => RawPgClient.ConnectAsync(server.Host, server.Port, "admin", server.GenerateAuthToken(), tls: true);
}
