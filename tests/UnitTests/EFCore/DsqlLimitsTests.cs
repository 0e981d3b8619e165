#pragma warning disable EF1001 // the limits table is internal to EFCore.Dsql

using System.Text.Json;
using System.Text.RegularExpressions;
using EFCore.Dsql.TestUtilities;
using Microsoft.EntityFrameworkCore.Dsql.Internal;
using static EFCore.Dsql.UnitTests.Local.DialectAnalysis;

namespace EFCore.Dsql.UnitTests.EFCore;

/// <summary>Holds the EF layer's table of DSQL limits, and the emulator's rules beside it, against a real cluster's recorded answers.</summary>
public sealed partial class DsqlLimitsTests
{
    public static TheoryData<string, string, string> RefusedColumnTypes()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (statement, observation) in Cases("types.json", "type_unsupported_"))
        {
            data.Add(statement, observation.GetProperty("sqlstate").GetString()!, observation.GetProperty("message").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RefusedColumnTypes))]
    public void Column_types_a_real_cluster_refuses_are_refused_by_the_model_validator_and_the_emulator(string statement, string sqlState, string message)
    {
        var type = SingleColumnType().Match(statement).Groups["type"].Value;

        Assert.NotNull(DsqlLimits.UnsupportedColumnTypeAdvice(type));
        AssertRefused(statement, sqlState, message);
    }

    [Fact]
    public void Column_types_a_real_cluster_accepts_are_accepted_by_the_model_validator_and_the_emulator()
    {
        var statements = Cases("types.json", "types_supported_columns").Concat(Cases("types.json", "types_alias_columns")).ToList();
        Assert.Equal(2, statements.Count);
        foreach (var (statement, _) in statements)
        {
            var types = ColumnTypes().Matches(statement).Select(m => m.Groups["type"].Value).ToList();
            Assert.True(types.Count >= 10, statement);
            Assert.All(types, type => Assert.Null(DsqlLimits.UnsupportedColumnTypeAdvice(type)));
            Assert.Null(Analyze(statement).Refusal);
        }
    }

    [Fact]
    public void Identity_and_sequence_caches_a_real_cluster_accepts_are_valid()
    {
        var caches = Cases("supported.json", "").Where(c => c.Observation.GetProperty("outcome").GetString() == "ok")
            .SelectMany(c => CacheClause().Matches(c.Statement)).Select(m => long.Parse(m.Groups["cache"].Value)).Distinct().Order().ToList();

        Assert.Equal([1L, DsqlLimits.SmallestLargeCache], caches);
        Assert.All(caches, cache => Assert.True(DsqlLimits.IsValidCache(cache)));
        Assert.False(DsqlLimits.IsValidCache(DsqlLimits.SmallestLargeCache - 1));
        Assert.True(DsqlLimits.IsValidCache(DsqlLimits.DefaultIdentityCacheSize));
    }

    [Fact]
    public void Server_version_is_the_one_a_real_cluster_reports()
    {
        var (_, observation) = Assert.Single(Cases("environment.json", "env_server_version"), c => c.Statement == "SHOW server_version");
        var reported = observation.GetProperty("rows")[0][0].GetString()!;

        Assert.Equal(Version.Parse(reported).Major, DsqlLimits.ServerVersion.Major);
        Assert.Equal(DsqlDialect.ServerVersion, reported);
    }

    // The first step of each recorded case whose name starts with the prefix, with the cluster's answer to it.
    private static IEnumerable<(string Statement, JsonElement Observation)> Cases(string file, string namePrefix)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(RepositoryFiles.TestData("dsql-conformance", file)));
        return document.RootElement.GetProperty("cases").EnumerateArray()
            .Where(c => c.GetProperty("name").GetString()!.StartsWith(namePrefix, StringComparison.Ordinal)
                && c.TryGetProperty("steps", out var steps) && steps.ValueKind == JsonValueKind.Array && steps.GetArrayLength() > 0
                && steps[0].ValueKind == JsonValueKind.String && c.GetProperty("observations").GetArrayLength() > 0)
            .Select(c => (c.GetProperty("steps")[0].GetString()!, c.GetProperty("observations")[0].Clone()))
            .ToList();
    }

    [GeneratedRegex(@"\(v (?<type>.+)\)$")]
    private static partial Regex SingleColumnType();

    [GeneratedRegex(@"\bc_\w+\s+(?<type>.+?)\s*(?=,\s*c_|\)\s*$)", RegexOptions.Singleline)]
    private static partial Regex ColumnTypes();

    [GeneratedRegex(@"CACHE (?<cache>\d+)")]
    private static partial Regex CacheClause();
}
