using System.Reflection;

namespace EFCore.Dsql.TestUtilities;

/// <summary>Locates the repository and the fixtures it carries under <c>tests/data</c>.</summary>
public static class RepositoryFiles
{
    /// <summary>The repository root, recorded at build time.</summary>
    public static string RepositoryRoot { get; } = typeof(RepositoryFiles).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    /// <summary>The full path of a fixture under <c>tests/data</c> (each source's licence and notice sit beside it).</summary>
    public static string TestData(params string[] parts) => Path.Combine([RepositoryRoot, "tests", "data", .. parts]);
}
