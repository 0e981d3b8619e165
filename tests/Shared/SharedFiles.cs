using System.Reflection;

namespace EFCore.Dsql.TestUtilities;

/// <summary>Locates the repository and the read-only <c>shared/</c> fixtures that sit beside it.</summary>
public static class SharedFiles
{
    /// <summary>The repository root, recorded at build time.</summary>
    public static string RepositoryRoot { get; } = typeof(SharedFiles).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    /// <summary>
    /// The <c>shared/</c> folder: <c>DSQL_SHARED_DIR</c> when set, else the nearest <c>shared</c> folder beside the
    /// repository or one of its parents (worktrees live one level deeper than the main checkout).
    /// </summary>
    public static string SharedRoot
    {
        get
        {
            var fromEnvironment = Environment.GetEnvironmentVariable("DSQL_SHARED_DIR");
            if (!string.IsNullOrEmpty(fromEnvironment))
            {
                return Directory.Exists(fromEnvironment)
                    ? fromEnvironment
                    : throw new DirectoryNotFoundException($"DSQL_SHARED_DIR is '{fromEnvironment}', which does not exist.");
            }

            for (var directory = Directory.GetParent(Path.GetFullPath(RepositoryRoot)); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, "shared");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new DirectoryNotFoundException(
                $"No shared fixtures folder found beside '{RepositoryRoot}' or its parents. Clone the repository beside shared/ or set DSQL_SHARED_DIR.");
        }
    }

    /// <summary>The full path of a file under <c>shared/</c>.</summary>
    public static string Path_(params string[] parts) => Path.Combine([SharedRoot, .. parts]);
}
