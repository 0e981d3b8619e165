namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>A new directory under the system's temporary folder, deleted with everything in it on dispose.</summary>
public sealed class TempDirectory(string prefix) : IDisposable
{
    /// <summary>The directory's full path.</summary>
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <inheritdoc />
    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
