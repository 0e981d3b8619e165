using System.Text;
using System.Text.Json;
using Dsql.Local;
using EFCore.Dsql.FunctionalTests.Infrastructure;
using Xunit.Abstractions;

namespace EFCore.Dsql.FunctionalTests.Conformance;

/// <summary>
/// Replays every case a real Aurora DSQL cluster answered (<c>tests/data/dsql-conformance</c>) against a fresh emulator and
/// compares outcome, SQLSTATE, message, command tag and column names step by step.
/// </summary>
public sealed class ConformanceTests(ITestOutputHelper output)
{
    // The recording's suite order: later groups see what earlier ones committed.
    private static readonly string[] GroupOrder =
    [
        "unsupported", "backlog", "isolation", "transaction", "supported", "index", "types", "enum", "environment", "occ", "queries", "alters",
        "occ_conflict", "multi_statement",
    ];

    [Fact]
    public async Task Emulator_answers_like_the_recorded_cluster()
    {
        var directory = RepositoryFiles.TestData("dsql-conformance");
        var files = Directory.GetFiles(directory, "*.json").Select(Path.GetFileNameWithoutExtension).ToList();
        var unknown = files.Except(GroupOrder).ToList();
        Assert.True(unknown.Count == 0, $"Conformance files without a place in the replay order: {string.Join(", ", unknown)}");

        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        await RunSetupAsync(server, Path.Combine(directory, "setup.sql"));

        var total = 0;
        var matched = 0;
        var regressions = new List<string>();
        var report = new StringBuilder();
        foreach (var group in GroupOrder.Where(files.Contains))
        {
            using var document = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(directory, group + ".json")));
            foreach (var testCase in document.RootElement.GetProperty("cases").EnumerateArray())
            {
                var name = testCase.GetProperty("name").GetString()!;
                total++;
                var difference = await RunCaseAsync(server, testCase);
                if (difference is null)
                {
                    matched++;
                    if (KnownGaps.Reasons.ContainsKey(name))
                    {
                        report.AppendLine($"now matches (remove from KnownGaps): {group}/{name}");
                    }

                    continue;
                }

                if (KnownGaps.Reasons.TryGetValue(name, out var reason))
                {
                    report.AppendLine($"known gap {group}/{name}: {difference} ({reason})");
                }
                else
                {
                    regressions.Add($"{group}/{name}: {difference}");
                }
            }
        }

        var summary = $"conformance: {matched}/{total} cases match";
        output.WriteLine(summary);
        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("DSQL_TEST_SUMMARY_DIR") is { Length: > 0 } summaries)
        {
            Directory.CreateDirectory(summaries);
            await File.WriteAllTextAsync(Path.Combine(summaries, "conformance.txt"), summary + Environment.NewLine);
        }

        Assert.True(regressions.Count == 0, $"{summary}; differences not listed in KnownGaps:{Environment.NewLine}{string.Join(Environment.NewLine, regressions)}");
    }

    private static async Task RunSetupAsync(DsqlLocalServer server, string setupFile)
    {
        await using var client = await ConnectAsync(server);
        foreach (var line in await File.ReadAllLinesAsync(setupFile))
        {
            var statement = line.Trim();
            if (statement.Length == 0 || statement.StartsWith("--", StringComparison.Ordinal))
            {
                continue;
            }

            var result = await client.ExecuteExtendedAsync(statement.TrimEnd(';'));
            if (result.IsError)
            {
                throw new InvalidOperationException($"Set-up statement failed: {statement}: {result}");
            }
        }
    }

    private static Task<RawPgClient> ConnectAsync(DsqlLocalServer server)
        => RawPgClient.ConnectAsync(server.Host, server.Port, "admin", server.GenerateAuthToken(), tls: true);

    /// <summary>Runs one case; returns a description of the first difference, or null when it matches.</summary>
    private static async Task<string?> RunCaseAsync(DsqlLocalServer server, JsonElement testCase)
    {
        if (testCase.TryGetProperty("sessions", out var sessions) && sessions.ValueKind == JsonValueKind.Array)
        {
            return await RunSessionsCaseAsync(server, testCase, sessions);
        }

        var steps = testCase.GetProperty("steps").EnumerateArray().Select(s => s.GetString()!).ToList();
        var observations = testCase.GetProperty("observations").EnumerateArray().ToList();
        var simple = testCase.TryGetProperty("simple_protocol", out var s) && s.GetBoolean();
        await using var client = await ConnectAsync(server);
        for (var i = 0; i < steps.Count; i++)
        {
            var expected = observations[i];
            if (simple)
            {
                var results = await client.ExecuteSimpleAsync(steps[i]);
                var difference = CompareSimple(expected, results);
                if (difference is not null)
                {
                    return $"step {i + 1} ({steps[i]}): {difference}";
                }
            }
            else
            {
                var result = await client.ExecuteExtendedAsync(steps[i]);
                var difference = Compare(expected, result);
                if (difference is not null)
                {
                    return $"step {i + 1} ({steps[i]}): {difference}";
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Two-session cases run in lock step (each step on session 1, then on session 2): the recording ran them concurrently
    /// with a delay between steps. For a conflict race only the number of losers per step and their SQLSTATE must match.
    /// </summary>
    private static async Task<string?> RunSessionsCaseAsync(DsqlLocalServer server, JsonElement testCase, JsonElement sessions)
    {
        var name = testCase.GetProperty("name").GetString()!;
        if (!ConflictCaseSteps.Steps.TryGetValue(name, out var sessionSteps))
        {
            return "no steps known for this two-session case (the record omits them)";
        }

        var expected = sessions.EnumerateArray().Select(a => a.EnumerateArray().ToList()).ToList();
        var race = testCase.TryGetProperty("conflict_race", out var r) && r.GetBoolean();
        var clients = new List<RawPgClient>();
        try
        {
            foreach (var _ in sessionSteps)
            {
                clients.Add(await ConnectAsync(server));
            }

            var actual = sessionSteps.Select(_ => new List<StepResult>()).ToList();
            var stepCount = sessionSteps.Max(s => s.Length);
            for (var step = 0; step < stepCount; step++)
            {
                for (var session = 0; session < sessionSteps.Length; session++)
                {
                    if (step < sessionSteps[session].Length)
                    {
                        actual[session].Add(await clients[session].ExecuteExtendedAsync(sessionSteps[session][step]));
                    }
                }
            }

            for (var step = 0; step < stepCount; step++)
            {
                if (race)
                {
                    var expectedErrors = expected.Where(e => step < e.Count && e[step].GetProperty("outcome").GetString() == "error")
                        .Select(e => e[step].GetProperty("sqlstate").GetString()).OrderBy(x => x).ToList();
                    var actualErrors = actual.Where(a => step < a.Count && a[step].IsError).Select(a => a[step].SqlState).OrderBy(x => x).ToList();
                    if (!expectedErrors.SequenceEqual(actualErrors))
                    {
                        return $"step {step + 1}: expected errors [{string.Join(", ", expectedErrors)}], got [{string.Join("; ", actual.Select(a => step < a.Count ? a[step].ToString() : "-"))}]";
                    }

                    foreach (var (e, a) in expected.Zip(actual))
                    {
                        if (step < a.Count && !a[step].IsError && e[step].GetProperty("outcome").GetString() == "ok")
                        {
                            var difference = Compare(e[step], a[step]);
                            if (difference is not null)
                            {
                                return $"step {step + 1}: {difference}";
                            }
                        }
                    }
                }
                else
                {
                    for (var session = 0; session < expected.Count; session++)
                    {
                        var difference = Compare(expected[session][step], actual[session][step]);
                        if (difference is not null)
                        {
                            return $"session {session + 1} step {step + 1}: {difference}";
                        }
                    }
                }
            }

            return null;
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static string? Compare(JsonElement expected, StepResult actual)
    {
        var outcome = expected.GetProperty("outcome").GetString();
        if (outcome == "error")
        {
            if (!actual.IsError)
            {
                return $"expected error {expected.GetProperty("sqlstate").GetString()} \"{Message(expected)}\", got {actual}";
            }

            var sqlState = expected.GetProperty("sqlstate").GetString();
            if (sqlState != actual.SqlState || (Message(expected) is { } message && message != actual.Message))
            {
                return $"expected error {sqlState} \"{Message(expected)}\", got {actual}";
            }

            return null;
        }

        if (actual.IsError)
        {
            return $"expected ok \"{Tag(expected)}\", got {actual}";
        }

        if (Tag(expected) is { } tag && tag != actual.CommandTag)
        {
            return $"expected ok \"{tag}\", got {actual}";
        }

        if (expected.TryGetProperty("columns", out var columns) && columns.ValueKind == JsonValueKind.Array)
        {
            var names = columns.EnumerateArray().Select(c => c.GetString()!).ToList();
            if (!names.SequenceEqual(actual.Columns))
            {
                return $"expected columns [{string.Join(", ", names)}], got [{string.Join(", ", actual.Columns)}]";
            }
        }

        return null;
    }

    private static string? CompareSimple(JsonElement expected, List<StepResult> results)
    {
        if (expected.GetProperty("outcome").GetString() == "error")
        {
            // A refused multi-statement query answers with that one error.
            if (results.Count != 1)
            {
                return $"expected a single error, got [{string.Join("; ", results)}]";
            }

            return Compare(expected, results[0]);
        }

        var expectedResults = expected.GetProperty("results").EnumerateArray().ToList();
        if (expectedResults.Count != results.Count)
        {
            return $"expected {expectedResults.Count} results, got [{string.Join("; ", results)}]";
        }

        for (var i = 0; i < results.Count; i++)
        {
            var tag = expectedResults[i].GetProperty("command_tag").GetString();
            if (results[i].IsError || tag != results[i].CommandTag)
            {
                return $"result {i + 1}: expected ok \"{tag}\", got {results[i]}";
            }
        }

        return null;
    }

    private static string? Message(JsonElement observation)
        => observation.TryGetProperty("message", out var message) ? message.GetString() : null;

    private static string? Tag(JsonElement observation)
        => observation.TryGetProperty("command_tag", out var tag) ? tag.GetString() : null;
}
