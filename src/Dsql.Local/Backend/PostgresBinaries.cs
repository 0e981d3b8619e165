namespace Dsql.Local.Backend;

/// <summary>
/// Finds <c>initdb</c> and <c>pg_ctl</c> (<c>initdb.exe</c> and <c>pg_ctl.exe</c> on Windows): <c>DSQL_LOCAL_PG_BIN</c>,
/// then <c>PATH</c>, then Debian's <c>/usr/lib/postgresql/*/bin</c>.
/// </summary>
internal sealed record PostgresBinaries(string Directory, int MajorVersion, bool Windows = false)
{
    internal const string InstallAdvice =
        "Install PostgreSQL (Debian/Ubuntu: 'apt-get install -y postgresql'), or point DSQL_LOCAL_PG_BIN at the folder holding initdb and pg_ctl.";

    public string InitDb => Path.Combine(Directory, Executable("initdb", Windows));

    public string PgCtl => Path.Combine(Directory, Executable("pg_ctl", Windows));

    public static PostgresBinaries Find()
        => Find(Environment.GetEnvironmentVariable("DSQL_LOCAL_PG_BIN"), Environment.GetEnvironmentVariable("PATH"), OperatingSystem.IsWindows());

    internal static PostgresBinaries Find(string? configured, string? path, bool windows)
    {
        if (!string.IsNullOrEmpty(configured))
        {
            return HasBinaries(configured, windows)
                ? new PostgresBinaries(configured, ReadMajorVersion(configured), windows)
                : throw new InvalidOperationException(
                    $"DSQL_LOCAL_PG_BIN is '{configured}', but {Executable("initdb", windows)} and {Executable("pg_ctl", windows)} are not both there. {InstallAdvice}");
        }

        foreach (var directory in (path ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (HasBinaries(directory, windows))
            {
                var resolved = Path.GetDirectoryName(ResolveLink(Path.Combine(directory, Executable("initdb", windows)))) ?? directory;
                return new PostgresBinaries(HasBinaries(resolved, windows) ? resolved : directory, ReadMajorVersion(resolved), windows);
            }
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (!windows && System.IO.Directory.Exists(debianRoot))
        {
            var newest = System.IO.Directory.GetDirectories(debianRoot)
                .Select(d => (Directory: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0))
                .Where(d => HasBinaries(d.Directory, windows))
                .OrderByDescending(d => d.Version)
                .FirstOrDefault();
            if (newest.Directory is not null)
            {
                return new PostgresBinaries(newest.Directory, newest.Version);
            }
        }

        throw new InvalidOperationException($"PostgreSQL's initdb and pg_ctl were not found. {InstallAdvice}");
    }

    private static bool HasBinaries(string directory, bool windows)
        => File.Exists(Path.Combine(directory, Executable("initdb", windows))) && File.Exists(Path.Combine(directory, Executable("pg_ctl", windows)));

    // Windows finds programs by their .exe name only; elsewhere executables have no extension.
    private static string Executable(string name, bool windows) => windows ? name + ".exe" : name;

    private static string ResolveLink(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is null ? path : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
    }

    private static int ReadMajorVersion(string binDirectory)
    {
        // Debian layout: /usr/lib/postgresql/<major>/bin.
        var parent = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(binDirectory).TrimEnd('/')) ?? "");
        return int.TryParse(parent, NumberStyles.None, CultureInfo.InvariantCulture, out var major) ? major : 0;
    }
}
