using Dsql.Local.Backend;

namespace EFCore.Dsql.UnitTests.Local;

public sealed class PostgresBinariesTests
{
    [Fact]
    public void Windows_binaries_are_found_by_their_exe_names_on_the_path()
        => WithBinaries(["initdb.exe", "pg_ctl.exe"], directory =>
        {
            var binaries = PostgresBinaries.Find(configured: null, path: directory, windows: true);
            Assert.Equal(Path.Combine(directory, "initdb.exe"), binaries.InitDb);
            Assert.Equal(Path.Combine(directory, "pg_ctl.exe"), binaries.PgCtl);
        });

    [Fact]
    public void Windows_binaries_are_found_by_their_exe_names_in_DSQL_LOCAL_PG_BIN()
        => WithBinaries(["initdb.exe", "pg_ctl.exe"], directory =>
            Assert.Equal(Path.Combine(directory, "pg_ctl.exe"), PostgresBinaries.Find(directory, path: null, windows: true).PgCtl));

    [Fact]
    public void Unix_binaries_have_no_extension()
        => WithBinaries(["initdb", "pg_ctl"], directory =>
            Assert.Equal(Path.Combine(directory, "initdb"), PostgresBinaries.Find(directory, path: null, windows: false).InitDb));

    [Fact]
    public void Missing_binaries_in_DSQL_LOCAL_PG_BIN_are_reported_by_their_platform_names()
        => WithBinaries(["initdb", "pg_ctl"], directory =>
            Assert.Contains(
                "initdb.exe and pg_ctl.exe are not both there",
                Assert.Throws<InvalidOperationException>(() => PostgresBinaries.Find(directory, path: null, windows: true)).Message,
                StringComparison.Ordinal));

    private static void WithBinaries(string[] names, Action<string> test)
    {
        var directory = Directory.CreateTempSubdirectory("dsql-local-pg-bin-").FullName;
        try
        {
            foreach (var name in names)
            {
                File.WriteAllText(Path.Combine(directory, name), "");
            }

            test(directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
