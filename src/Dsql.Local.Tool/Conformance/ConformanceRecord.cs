using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Dsql.Local.Conformance;

/// <summary>One group of a record: its file's header fields and its cases (<c>&lt;group&gt;.json</c>).</summary>
/// <param name="Name">The group, also the file name without <c>.json</c>.</param>
/// <param name="Document">The whole file: <c>recorded_at</c>, <c>target</c>, <c>server_version</c>, <c>suite</c> and <c>cases</c>.</param>
internal sealed record RecordGroup(string Name, JsonObject Document)
{
    /// <summary>The group's cases, in file order.</summary>
    public IEnumerable<JsonObject> Cases => Document["cases"]!.AsArray().Select(c => c!.AsObject());
}

/// <summary>
/// A conformance record (the format of <c>tests/data/dsql-conformance</c>): the set-up statements (<c>setup.sql</c>) and
/// one JSON file of cases per group. The corpus of probes is a record too: its steps are what <c>record</c> runs.
/// </summary>
internal sealed class ConformanceRecord
{
    /// <summary>The suite order of the recording: later groups see what earlier ones committed.</summary>
    public static readonly IReadOnlyList<string> GroupOrder =
    [
        "unsupported", "backlog", "isolation", "transaction", "supported", "index", "types", "enum", "environment", "occ", "queries", "alters",
        "occ_conflict", "multi_statement",
    ];

    private const string ResourcePrefix = "dsql-conformance/";

    private ConformanceRecord(string source, IReadOnlyList<string> setup, IReadOnlyList<RecordGroup> groups)
    {
        Source = source;
        Setup = setup;
        Groups = groups;
    }

    /// <summary>Where the record came from: its directory, or the corpus embedded in the tool.</summary>
    public string Source { get; }

    /// <summary>The set-up statements, each run on its own, in order, before the groups.</summary>
    public IReadOnlyList<string> Setup { get; }

    /// <summary>The groups, in <see cref="GroupOrder"/>.</summary>
    public IReadOnlyList<RecordGroup> Groups { get; }

    /// <summary>How many cases the record holds.</summary>
    public int CaseCount => Groups.Sum(g => g.Cases.Count());

    /// <summary>The copy of the corpus embedded in the tool (the record vendored in the repository when it was built).</summary>
    public static ConformanceRecord Embedded()
    {
        var assembly = typeof(ConformanceRecord).Assembly;
        var names = assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).ToList();
        return Create("the corpus embedded in dsql-local", names.Select(n => n[ResourcePrefix.Length..]), name => Read(assembly, ResourcePrefix + name));
    }

    /// <summary>Reads a record directory; throws <see cref="FormatException"/> when it is not one.</summary>
    public static ConformanceRecord Load(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new FormatException($"'{directory}' is not a directory holding a conformance record (<group>.json files and setup.sql).");
        }

        var files = Directory.GetFiles(directory).Select(Path.GetFileName).OfType<string>();
        return Create(directory, files, name => File.ReadAllText(Path.Combine(directory, name)));
    }

    private static ConformanceRecord Create(string source, IEnumerable<string> files, Func<string, string> read)
    {
        var present = files.ToHashSet(StringComparer.Ordinal);
        var unknown = present.Where(f => f.EndsWith(".json", StringComparison.Ordinal)).Select(f => f[..^".json".Length]).Except(GroupOrder).ToList();
        if (unknown.Count > 0)
        {
            throw new FormatException($"{source}: record files without a place in the suite order: {string.Join(", ", unknown)}.");
        }

        var groups = new List<RecordGroup>();
        foreach (var group in GroupOrder.Where(g => present.Contains(g + ".json")))
        {
            JsonObject document;
            try
            {
                document = JsonNode.Parse(read(group + ".json"))?.AsObject() ?? throw new FormatException("it is empty");
                if (document["cases"] is not JsonArray)
                {
                    throw new FormatException("it has no \"cases\" array");
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                throw new FormatException($"{source}: {group}.json is not a record group: {e.Message}", e);
            }

            groups.Add(new RecordGroup(group, document));
        }

        if (groups.Count == 0)
        {
            throw new FormatException($"{source} holds no record group (<group>.json, for example queries.json).");
        }

        // A record written by 'record' carries its set-up; one without falls back to the embedded corpus's.
        var setup = present.Contains("setup.sql") ? read("setup.sql") : Read(typeof(ConformanceRecord).Assembly, ResourcePrefix + "setup.sql");
        return new ConformanceRecord(source, ParseSetup(setup), groups);
    }

    private static List<string> ParseSetup(string text)
        => [.. text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("--", StringComparison.Ordinal)).Select(l => l.TrimEnd(';'))];

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"The tool was built without its embedded corpus ({name}).");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Writes the record's groups (and set-up) to <paramref name="directory"/>, one file per group.</summary>
    public static async Task WriteAsync(string directory, IReadOnlyList<string> setup, IEnumerable<RecordGroup> groups, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var group in groups)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, group.Name + ".json"), group.Document.ToJsonString(options) + "\n", cancellationToken);
        }

        await File.WriteAllTextAsync(
            Path.Combine(directory, "setup.sql"),
            "-- Set-up the probes assume, one statement per line, each run on its own, before all groups (written by dsql-local record).\n"
            + string.Join('\n', setup.Select(s => s + ";")) + "\n",
            cancellationToken);
    }
}
