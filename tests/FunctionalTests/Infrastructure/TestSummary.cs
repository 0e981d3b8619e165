namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>Writes one summary line per test into <c>DSQL_TEST_SUMMARY_DIR</c> (when set); every line states the settings it ran with.</summary>
public static class TestSummary
{
    public static void Write(string name, string line)
    {
        if (Environment.GetEnvironmentVariable("DSQL_TEST_SUMMARY_DIR") is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, name + ".txt"), line + Environment.NewLine);
        }
    }
}
