using System.Text.Json.Nodes;

namespace Dsql.Local.Conformance;

/// <summary>
/// Runs a record's probes against a server and records its answers in the record's format: one connection per case,
/// each step over the extended protocol (Parse/Bind/Describe/Execute/Sync), or the simple protocol where the case says
/// so; two-session cases run in lock step (each step on session 1, then on session 2).
/// </summary>
/// <param name="connect">Opens a logged-in connection to the server under test.</param>
internal sealed class ConformanceRunner(Func<CancellationToken, Task<RawPgClient>> connect)
{
    /// <summary>Runs the set-up statements; throws <see cref="InvalidOperationException"/> naming the first that fails.</summary>
    public async Task RunSetupAsync(IEnumerable<string> setup, CancellationToken cancellationToken)
    {
        await using var client = await connect(cancellationToken);
        foreach (var statement in setup)
        {
            var result = await client.ExecuteExtendedAsync(statement);
            if (result.IsError)
            {
                throw new InvalidOperationException($"Set-up statement failed: {statement}: {result}");
            }
        }
    }

    /// <summary>The server's version line for a record's header: <c>PostgreSQL 16</c>.</summary>
    public async Task<string> ServerVersionAsync(CancellationToken cancellationToken)
    {
        await using var client = await connect(cancellationToken);
        var result = await client.ExecuteExtendedAsync("SHOW server_version");
        var version = result.Rows.FirstOrDefault()?.FirstOrDefault() ?? "";
        return "PostgreSQL " + version.Split('.', ' ')[0];
    }

    /// <summary>Runs one case and returns a copy of it holding this server's answers instead of the recorded ones.</summary>
    public async Task<JsonObject> RecordCaseAsync(JsonObject testCase, CancellationToken cancellationToken)
    {
        var recorded = testCase.DeepClone().AsObject();
        var name = (string)testCase["name"]!;
        if (testCase["sessions"] is JsonArray)
        {
            recorded["sessions"] = ConflictCaseSteps.Steps.TryGetValue(name, out var sessionSteps)
                ? await RunSessionsAsync(sessionSteps, cancellationToken)
                : throw new InvalidOperationException($"No steps are known for the two-session case {name}.");
            return recorded;
        }

        var simple = testCase["simple_protocol"] is JsonValue s && s.GetValue<bool>();
        var observations = new JsonArray();
        await using var client = await connect(cancellationToken);
        foreach (var step in testCase["steps"]!.AsArray().Select(s => (string)s!))
        {
            observations.Add(simple ? Observation(await client.ExecuteSimpleAsync(step)) : Observation(await client.ExecuteExtendedAsync(step)));
        }

        recorded["observations"] = observations;
        return recorded;
    }

    private async Task<JsonArray> RunSessionsAsync(string[][] sessionSteps, CancellationToken cancellationToken)
    {
        var clients = new List<RawPgClient>();
        try
        {
            foreach (var _ in sessionSteps)
            {
                clients.Add(await connect(cancellationToken));
            }

            var sessions = sessionSteps.Select(_ => new JsonArray()).ToList();
            for (var step = 0; step < sessionSteps.Max(s => s.Length); step++)
            {
                for (var session = 0; session < sessionSteps.Length; session++)
                {
                    if (step < sessionSteps[session].Length)
                    {
                        sessions[session].Add(Observation(await clients[session].ExecuteExtendedAsync(sessionSteps[session][step])));
                    }
                }
            }

            return [.. sessions];
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    /// <summary>One extended-protocol answer as a record observation.</summary>
    public static JsonObject Observation(StepResult result)
    {
        if (result.IsError)
        {
            return new JsonObject { ["outcome"] = "error", ["sqlstate"] = result.SqlState, ["message"] = result.Message };
        }

        var observation = new JsonObject { ["outcome"] = "ok" };
        AddResult(observation, result);
        return observation;
    }

    /// <summary>A simple-protocol answer: its error (with the results before it, if any), or one result per statement.</summary>
    public static JsonObject Observation(List<StepResult> results)
    {
        var answered = new JsonArray();
        foreach (var result in results.Where(r => !r.IsError))
        {
            var entry = new JsonObject();
            AddResult(entry, result);
            answered.Add(entry);
        }

        if (results.FirstOrDefault(r => r.IsError) is { } error)
        {
            var observation = Observation(error);
            if (answered.Count > 0)
            {
                observation["results"] = answered;
            }

            return observation;
        }

        return new JsonObject { ["outcome"] = "ok", ["results"] = answered };
    }

    private static void AddResult(JsonObject target, StepResult result)
    {
        target["command_tag"] = result.CommandTag;
        if (result.Columns.Count > 0)
        {
            target["columns"] = new JsonArray([.. result.Columns.Select(c => (JsonNode?)JsonValue.Create(c))]);
            target["rows"] = new JsonArray([.. result.Rows.Select(r => (JsonNode?)new JsonArray([.. r.Select(v => (JsonNode?)JsonValue.Create(v))]))]);
        }
    }
}
