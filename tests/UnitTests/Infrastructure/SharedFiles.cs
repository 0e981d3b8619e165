using System.Reflection;

namespace EFCore.Dsql.UnitTests.Infrastructure;

/// <summary>Locates the repository and the read-only <c>shared/</c> fixtures that sit beside it.</summary>
public static class SharedFiles
{
    /// <summary>The repository root, recorded at build time.</summary>
    public static string RepositoryRoot { get; } = typeof(SharedFiles).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    /// <summary>The <c>shared/</c> folder: <c>DSQL_SHARED_DIR</c> when set, else <c>../shared</c> beside the repository.</summary>
    public static string SharedRoot
    {
        get
        {
            var fromEnvironment = Environment.GetEnvironmentVariable("DSQL_SHARED_DIR");
            var path = !string.IsNullOrEmpty(fromEnvironment) ? fromEnvironment : Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared"));
            if (!Directory.Exists(path))
            {
                throw new DirectoryNotFoundException($"The shared fixtures folder '{path}' does not exist. Clone the repository beside shared/ or set DSQL_SHARED_DIR.");
            }

            return path;
        }
    }

    /// <summary>The full path of a file under <c>shared/</c>.</summary>
    public static string Path_(params string[] parts) => Path.Combine([SharedRoot, .. parts]);
}
