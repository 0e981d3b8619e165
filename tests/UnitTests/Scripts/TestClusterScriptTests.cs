using System.Diagnostics;

namespace EFCore.Dsql.UnitTests.Scripts;

/// <summary>scripts/test-cluster.sh refuses to run without a cluster rather than passing nothing.</summary>
public sealed class TestClusterScriptTests
{
    [Fact]
    public async Task Without_CLUSTER_ENDPOINT_it_says_what_to_set_and_exits_non_zero()
    {
        var startInfo = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        startInfo.ArgumentList.Add(Path.Combine(RepositoryFiles.RepositoryRoot, "scripts", "test-cluster.sh"));
        startInfo.Environment.Remove("CLUSTER_ENDPOINT");

        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Equal("", await stdout);
        Assert.Contains("CLUSTER_ENDPOINT is not set", stderr, StringComparison.Ordinal);
        Assert.Contains("export CLUSTER_ENDPOINT=<cluster-id>.dsql.<region>.on.aws", stderr, StringComparison.Ordinal);
        Assert.Contains("bash scripts/test-cluster.sh", stderr, StringComparison.Ordinal);
    }
}
