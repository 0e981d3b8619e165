using System.Text.Json.Nodes;

namespace Dsql.Local.Conformance;

/// <summary>
/// Compares a case's answers with another record's: outcome, SQLSTATE, message, command tag and column names, step by
/// step (rows are recorded, not compared: job IDs and generated keys vary). A conflict race (<c>conflict_race</c>) only
/// needs the same number of losers per step with the same SQLSTATE: which session loses is timing.
/// </summary>
internal static class RecordComparer
{
    /// <summary>The first difference of <paramref name="actual"/> from <paramref name="expected"/>, or null when they match.</summary>
    public static string? Compare(JsonObject expected, JsonObject actual)
    {
        if (expected["sessions"] is JsonArray expectedSessions)
        {
            return actual["sessions"] is JsonArray actualSessions
                ? CompareSessions(expectedSessions, actualSessions, expected["conflict_race"] is JsonValue r && r.GetValue<bool>())
                : "expected two-session answers, got none";
        }

        var steps = expected["steps"]?.AsArray().Select(s => (string?)s).ToList() ?? [];
        var expectedObservations = expected["observations"]!.AsArray();
        var actualObservations = actual["observations"]?.AsArray() ?? [];
        var simple = expected["simple_protocol"] is JsonValue s && s.GetValue<bool>();
        for (var i = 0; i < expectedObservations.Count; i++)
        {
            if (i >= actualObservations.Count)
            {
                return $"step {i + 1}: no answer recorded";
            }

            var e = expectedObservations[i]!.AsObject();
            var a = actualObservations[i]!.AsObject();
            var difference = simple ? CompareSimple(e, a) : CompareObservation(e, a);
            if (difference is not null)
            {
                return $"step {i + 1} ({(i < steps.Count ? steps[i] : "?")}): {difference}";
            }
        }

        return null;
    }

    private static string? CompareSessions(JsonArray expected, JsonArray actual, bool race)
    {
        var e = expected.Select(s => s!.AsArray().Select(o => o!.AsObject()).ToList()).ToList();
        var a = actual.Select(s => s!.AsArray().Select(o => o!.AsObject()).ToList()).ToList();
        if (e.Count != a.Count)
        {
            return $"expected {e.Count} sessions, got {a.Count}";
        }

        for (var step = 0; step < e.Max(s => s.Count); step++)
        {
            if (race)
            {
                var expectedErrors = e.Where(s => step < s.Count && IsError(s[step])).Select(s => SqlState(s[step])).Order().ToList();
                var actualErrors = a.Where(s => step < s.Count && IsError(s[step])).Select(s => SqlState(s[step])).Order().ToList();
                if (!expectedErrors.SequenceEqual(actualErrors))
                {
                    return $"step {step + 1}: expected errors [{string.Join(", ", expectedErrors)}], got [{string.Join("; ", a.Select(s => step < s.Count ? Describe(s[step]) : "-"))}]";
                }

                foreach (var (es, @as) in e.Zip(a))
                {
                    if (step < @as.Count && step < es.Count && !IsError(@as[step]) && !IsError(es[step]) && CompareObservation(es[step], @as[step]) is { } difference)
                    {
                        return $"step {step + 1}: {difference}";
                    }
                }
            }
            else
            {
                for (var session = 0; session < e.Count; session++)
                {
                    if (step >= e[session].Count)
                    {
                        continue;
                    }

                    var difference = step < a[session].Count ? CompareObservation(e[session][step], a[session][step]) : "no answer recorded";
                    if (difference is not null)
                    {
                        return $"session {session + 1} step {step + 1}: {difference}";
                    }
                }
            }
        }

        return null;
    }

    private static string? CompareObservation(JsonObject expected, JsonObject actual)
    {
        if (IsError(expected))
        {
            var message = (string?)expected["message"];
            return !IsError(actual) || SqlState(expected) != SqlState(actual) || (message is not null && message != (string?)actual["message"])
                ? $"expected {Describe(expected)}, got {Describe(actual)}"
                : null;
        }

        if (IsError(actual))
        {
            return $"expected {Describe(expected)}, got {Describe(actual)}";
        }

        return CompareResult(expected, actual);
    }

    private static string? CompareResult(JsonObject expected, JsonObject actual)
    {
        if ((string?)expected["command_tag"] is { } tag && tag != (string?)actual["command_tag"])
        {
            return $"expected ok \"{tag}\", got {Describe(actual)}";
        }

        if (expected["columns"] is JsonArray columns)
        {
            var names = columns.Select(c => (string?)c).ToList();
            var actualNames = actual["columns"]?.AsArray().Select(c => (string?)c).ToList() ?? [];
            if (!names.SequenceEqual(actualNames))
            {
                return $"expected columns [{string.Join(", ", names)}], got [{string.Join(", ", actualNames)}]";
            }
        }

        return null;
    }

    private static string? CompareSimple(JsonObject expected, JsonObject actual)
    {
        if (IsError(expected))
        {
            // A refused multi-statement query answers with that one error and nothing before it.
            return actual["results"] is JsonArray { Count: > 0 } before
                ? $"expected a single error, got {before.Count} results before {Describe(actual)}"
                : CompareObservation(expected, actual);
        }

        if (IsError(actual))
        {
            return $"expected ok, got {Describe(actual)}";
        }

        var expectedResults = expected["results"]!.AsArray();
        var actualResults = actual["results"]?.AsArray() ?? [];
        if (expectedResults.Count != actualResults.Count)
        {
            return $"expected {expectedResults.Count} results, got [{string.Join("; ", actualResults.Select(r => Describe(r!.AsObject())))}]";
        }

        for (var i = 0; i < expectedResults.Count; i++)
        {
            var tag = (string?)expectedResults[i]!["command_tag"];
            if (tag != (string?)actualResults[i]!["command_tag"])
            {
                return $"result {i + 1}: expected ok \"{tag}\", got {Describe(actualResults[i]!.AsObject())}";
            }
        }

        return null;
    }

    private static bool IsError(JsonObject observation) => (string?)observation["outcome"] == "error";

    private static string? SqlState(JsonObject observation) => (string?)observation["sqlstate"];

    private static string Describe(JsonObject observation)
        => IsError(observation) ? $"error {SqlState(observation)} \"{(string?)observation["message"]}\"" : $"ok \"{(string?)observation["command_tag"]}\"";
}
