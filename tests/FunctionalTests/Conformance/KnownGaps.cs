namespace EFCore.Dsql.FunctionalTests.Conformance;

/// <summary>
/// Recorded cases the emulator answers differently from the real cluster, each with the reason. The conformance test
/// fails when any case not listed here differs from the record.
/// </summary>
internal static class KnownGaps
{
    public static IReadOnlyDictionary<string, string> Reasons { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
    };
}
