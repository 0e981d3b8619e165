using Dsql.Local;

namespace EFCore.Dsql.UnitTests.Local;

public sealed class DsqlLocalDependencyTests
{
    // The library is referenced by every test project that hosts the emulator: no container stack rides along.
    [Fact]
    public void Library_references_no_container_docker_or_ssh_assembly()
        => Assert.DoesNotContain(
            typeof(DsqlLocalServer).Assembly.GetReferencedAssemblies(),
            a => a.Name!.StartsWith("Testcontainers", StringComparison.Ordinal) || a.Name.StartsWith("Docker", StringComparison.Ordinal)
                 || a.Name.Contains("SshNet", StringComparison.Ordinal) || a.Name.Contains("BouncyCastle", StringComparison.Ordinal));
}
