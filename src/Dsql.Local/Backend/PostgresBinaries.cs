using System.Globalization;

namespace Dsql.Local.Backend;

/// <summary>Finds <c>initdb</c> and <c>pg_ctl</c>: <c>DSQL_LOCAL_PG_BIN</c>, then <c>PATH</c>, then Debian's <c>/usr/lib/postgresql/*/bin</c>.</summary>
internal sealed record PostgresBinaries(string Directory, int MajorVersion)
{
    internal const string InstallAdvice =
        "Install PostgreSQL (Debian/Ubuntu: 'apt-get install -y postgresql'), or point DSQL_LOCAL_PG_BIN at the folder holding initdb and pg_ctl.";

    public string InitDb => Path.Combine(Directory, "initdb");

    public string PgCtl => Path.Combine(Directory, "pg_ctl");

    public static PostgresBinaries Find()
    {
        var configured = Environment.GetEnvironmentVariable("DSQL_LOCAL_PG_BIN");
        if (!string.IsNullOrEmpty(configured))
        {
            return HasBinaries(configured)
                ? new PostgresBinaries(configured, ReadMajorVersion(configured))
                : throw new InvalidOperationException($"DSQL_LOCAL_PG_BIN is '{configured}', but initdb and pg_ctl are not both there. {InstallAdvice}");
        }

        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (HasBinaries(directory))
            {
                var resolved = Path.GetDirectoryName(ResolveLink(Path.Combine(directory, "initdb"))) ?? directory;
                return new PostgresBinaries(HasBinaries(resolved) ? resolved : directory, ReadMajorVersion(resolved));
            }
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (System.IO.Directory.Exists(debianRoot))
        {
            var newest = System.IO.Directory.GetDirectories(debianRoot)
                .Select(d => (Directory: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0))
                .Where(d => HasBinaries(d.Directory))
                .OrderByDescending(d => d.Version)
                .FirstOrDefault();
            if (newest.Directory is not null)
            {
                return new PostgresBinaries(newest.Directory, newest.Version);
            }
        }

        throw new InvalidOperationException($"PostgreSQL's initdb and pg_ctl were not found. {InstallAdvice}");
    }

    private static bool HasBinaries(string directory)
        => File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "pg_ctl"));

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
