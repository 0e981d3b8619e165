using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace EFCore.Dsql.UnitTests.Design;

/// <summary>Every C# block in README.md compiles against this repository's assemblies (and ASP.NET Core's).</summary>
public sealed partial class ReadmeCodeBlocksTests
{
    private static readonly string RepositoryRoot = typeof(ReadmeCodeBlocksTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    private static readonly Lazy<MetadataReference[]> References = new(LoadReferences);

    // What <ImplicitUsings>enable</ImplicitUsings> (on in every new .NET project) gives a file of a Microsoft.NET.Sdk project.
    private static readonly SyntaxTree ImplicitUsings = CSharpSyntaxTree.ParseText(
        """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """,
        new CSharpParseOptions(LanguageVersion.Latest),
        path: "ImplicitUsings.g.cs");

    public static TheoryData<int, string> CSharpBlocks()
    {
        var data = new TheoryData<int, string>();
        foreach (var (line, code) in Blocks("csharp"))
        {
            data.Add(line, code);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CSharpBlocks))]
    public void Readme_csharp_block_compiles(int line, string code)
    {
        var tree = CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest), path: $"README.md:{line}");
        var hasTopLevelStatements = tree.GetCompilationUnitRoot().Members.OfType<GlobalStatementSyntax>().Any();
        var compilation = CSharpCompilation.Create(
            $"ReadmeBlock{line}",
            [tree, ImplicitUsings],
            References.Value,
            new CSharpCompilationOptions(
                hasTopLevelStatements ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable));

        // Beyond the SDK's implicit usings, every block names its own namespaces: a newcomer copies it as it is.
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.True(errors.Count == 0, $"The csharp block at README.md line {line} does not compile:\n{string.Join('\n', errors)}\n\n{code}");
    }

    [Fact]
    public void Readme_has_csharp_blocks_to_check()
        => Assert.True(Blocks("csharp").Count >= 5, "README.md lost its C# examples, or the block syntax changed.");

    [Fact]
    public void Readme_keeps_one_command_to_run_the_sample_and_one_to_run_the_tests()
    {
        var commands = Blocks("bash").SelectMany(b => b.Code.Split('\n')).Select(l => l.Trim()).ToList();

        Assert.Single(commands, c => c == "bash scripts/sample.sh");
        Assert.Single(commands, c => c == "bash scripts/test.sh");
        Assert.True(File.Exists(Path.Combine(RepositoryRoot, "scripts", "sample.sh")));
        Assert.True(File.Exists(Path.Combine(RepositoryRoot, "scripts", "test.sh")));
    }

    [Fact]
    public void Readme_links_to_files_that_exist()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));
        var missing = RelativeLink().Matches(text).Select(m => m.Groups["target"].Value)
            .Where(target => !File.Exists(Path.Combine(RepositoryRoot, target)) && !Directory.Exists(Path.Combine(RepositoryRoot, target)))
            .ToList();

        Assert.True(missing.Count == 0, $"README.md links to missing files: {string.Join(", ", missing)}");
    }

    private static List<(int Line, string Code)> Blocks(string language)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot, "README.md")).ReplaceLineEndings("\n");
        return FencedBlock().Matches(text)
            .Where(m => m.Groups["lang"].Value == language)
            .Select(m => (text[..m.Index].Count(c => c == '\n') + 1, m.Groups["code"].Value))
            .ToList();
    }

    // Everything the test process can load (the repository's assemblies, EF Core, Npgsql, AWS, xunit), plus ASP.NET Core.
    private static MetadataReference[] LoadReferences()
    {
        var byName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var path in ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator))
        {
            byName.TryAdd(Path.GetFileNameWithoutExtension(path), path);
        }

        var netCore = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var aspNetRoot = Path.Combine(netCore, "..", "..", "Microsoft.AspNetCore.App");
        var aspNet = Directory.Exists(aspNetRoot)
            ? Directory.GetDirectories(aspNetRoot).Where(d => Path.GetFileName(d).StartsWith($"{Environment.Version.Major}.", StringComparison.Ordinal))
                .OrderBy(d => Version.TryParse(Path.GetFileName(d).Split('-')[0], out var v) ? v : new Version()).LastOrDefault()
            : null;
        Assert.True(aspNet is not null, $"ASP.NET Core {Environment.Version.Major} shared framework not found next to {netCore}.");
        foreach (var path in Directory.GetFiles(aspNet, "*.dll"))
        {
            byName.TryAdd(Path.GetFileNameWithoutExtension(path), path);
        }

        return byName.Values.Where(IsManagedAssembly).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
    }

    private static bool IsManagedAssembly(string path)
    {
        try
        {
            AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"\]\((?<target>(?!https?:|#)[^)#\s]+)(#[^)]*)?\)")]
    private static partial Regex RelativeLink();

    [GeneratedRegex(@"^```(?<lang>[a-z]*)\n(?<code>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencedBlock();
}
