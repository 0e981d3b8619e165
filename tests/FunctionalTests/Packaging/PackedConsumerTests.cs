using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using EFCore.Dsql.FunctionalTests.Design;

namespace EFCore.Dsql.FunctionalTests.Packaging;

/// <summary>
/// The path a new user takes, end to end, from the packages rather than the projects: <c>scripts/pack.sh</c> into a
/// temporary feed, a new ASP.NET Core app that adds the packages with <c>dotnet add package</c>, registers
/// <c>AddDbContextPool(o =&gt; o.UseAuroraDsql("Name=ConnectionStrings:Shop"))</c>, keeps the cluster in
/// <c>appsettings.json</c> (connection string and the <c>AWS</c> section) and has a one-line design-time factory;
/// <c>dotnet ef migrations add</c>, <c>database update</c> and <c>dbcontext scaffold … EFCore.Dsql</c> against Dsql.Local
/// with IAM; <c>dotnet publish</c>; the published app started and asked to scan its own assembly and to write and
/// read through the context.
/// </summary>
public sealed class PackedConsumerTests(DotnetEfTool tool) : IClassFixture<DotnetEfTool>
{
    private const string Program = """
        using Microsoft.EntityFrameworkCore;
        using Microsoft.EntityFrameworkCore.Design;

        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddDefaultAWSOptions(builder.Configuration.GetAWSOptions());
        builder.Services.AddDbContextPool<ShopContext>(options => options.UseAuroraDsql("Name=ConnectionStrings:Shop"));

        var app = builder.Build();

        // What MediatR, FluentValidation or AutoMapper do at start-up: every type of the app's assembly must load.
        app.MapGet("/types", () => typeof(ShopContext).Assembly.GetTypes().Select(t => t.FullName).Order().ToArray());

        app.MapPost("/orders/{quantity:long}", async (long quantity, ShopContext db) =>
        {
            db.Orders.Add(new Order { Quantity = quantity });
            await db.SaveChangesAsync();
            return new { count = await db.Orders.CountAsync(), total = await db.Orders.SumAsync(o => o.Quantity) };
        });

        app.Run();

        public sealed class Order
        {
            public Guid Id { get; set; }
            public long Quantity { get; set; }
        }

        public sealed class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options)
        {
            public DbSet<Order> Orders => Set<Order>();
        }

        public sealed class ShopContextFactory : DsqlDesignTimeDbContextFactory<ShopContext>;
        """;

    private static readonly string[] Packages = ["Dsql.Npgsql", "EFCore.Dsql", "EFCore.Dsql.Design"];

    [Fact]
    public async Task Packed_packages_take_a_new_web_app_through_migrations_scaffolding_publish_and_requests_on_Dsql_Local()
    {
        var stopwatch = Stopwatch.StartNew();
        var work = Directory.CreateTempSubdirectory("dsql-consumer-").FullName;
        var version = $"0.1.0-consumer.{DateTime.UtcNow:yyyyMMddHHmmss}.{System.Environment.ProcessId}";
        await using var emulator = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        try
        {
            // 1. Pack (the test run has just built the projects in this configuration).
            var feed = Path.Combine(work, "feed");
            var pack = await Run("bash", [Path.Combine(tool.RepositoryRoot, "scripts", "pack.sh"), feed, "--no-build", $"-p:VersionSuffix={version["0.1.0-".Length..]}"],
                tool.RepositoryRoot, new() { ["PACK_PROJECTS"] = string.Join(' ', Packages) });
            Assert.True(pack.ExitCode == 0, $"scripts/pack.sh failed:\n{pack.Output}");
            Assert.All(Packages, p => Assert.True(File.Exists(Path.Combine(feed, $"{p}.{version}.nupkg")), $"{p}.{version}.nupkg was not packed:\n{pack.Output}"));

            // 2. A new web app, written as a user would write it.
            var app = Path.Combine(work, "Shop");
            Directory.CreateDirectory(app);
            await File.WriteAllTextAsync(Path.Combine(app, "Shop.csproj"), """
                <Project Sdk="Microsoft.NET.Sdk.Web">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                  </PropertyGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), Program);
            await File.WriteAllTextAsync(Path.Combine(app, "appsettings.json"), $$"""
                {
                  "ConnectionStrings": { "Shop": "postgresql://admin@{{emulator.Endpoint}}:{{emulator.Port}}/postgres?sslmode={{(emulator.TlsEnabled ? "require" : "disable")}}" },
                  "AWS": { "Region": "{{emulator.Region}}" },
                  "Logging": { "LogLevel": { "Default": "Warning" } }
                }
                """);
            // The user's sources plus the temporary feed (no <clear/>: everything else restores from the configured sources).
            await File.WriteAllTextAsync(Path.Combine(work, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="packed" value="{feed}" />
                  </packageSources>
                </configuration>
                """);

            var environment = Environment(emulator);
            foreach (var package in (string[])["EFCore.Dsql", "EFCore.Dsql.Design"])
            {
                var add = await Run("dotnet", ["add", "package", package, "--version", version], app, environment);
                Assert.True(add.ExitCode == 0, $"dotnet add package {package} failed:\n{add.Output}");
            }

            // EFCore.Dsql.Design is a development dependency: dotnet add package itself keeps it out of the app's dependencies.
            var design = XDocument.Load(Path.Combine(app, "Shop.csproj")).Descendants("PackageReference").Single(e => (string?)e.Attribute("Include") == "EFCore.Dsql.Design");
            Assert.Equal("all", design.Element("PrivateAssets")?.Value ?? (string?)design.Attribute("PrivateAssets"));

            // 3. dotnet ef through the design-time factory, which reads appsettings.json (connection string, AWS:Region).
            var add1 = await Ef(app, environment, "migrations", "add", "InitialCreate");
            Assert.True(add1.ExitCode == 0, $"dotnet ef migrations add failed:\n{add1.Output}");
            var migration = Directory.GetFiles(Path.Combine(app, "Migrations"), "*_InitialCreate.cs").Single();
            Assert.Contains("\"Orders\"", await File.ReadAllTextAsync(migration), StringComparison.Ordinal);

            var update = await Ef(app, environment, "database", "update", "--verbose");
            Assert.True(update.ExitCode == 0, $"dotnet ef database update failed:\n{update.Output}");
            Assert.Contains("ShopContextFactory", update.Output, StringComparison.Ordinal);
            Assert.Equal(["InitialCreate"], (await Query(emulator, "SELECT \"MigrationId\" FROM \"__EFMigrationsHistory\"")).Select(m => m[(m.IndexOf('_') + 1)..]));

            // 4. Scaffolding from the cluster with IAM: the app's table only, not the emulator's or the migrator's own.
            var scaffold = await Ef(
                app, environment, "dbcontext", "scaffold", "--no-build",
                $"postgresql://admin@{emulator.Endpoint}:{emulator.Port}/postgres?region={emulator.Region}&sslmode={(emulator.TlsEnabled ? "require" : "disable")}",
                "EFCore.Dsql", "--output-dir", "Scaffolded", "--namespace", "Shop.Scaffolded", "--context", "ScaffoldedContext", "--force");
            Assert.True(scaffold.ExitCode == 0, $"dotnet ef dbcontext scaffold failed:\n{scaffold.Output}");
            var scaffolded = Directory.GetFiles(Path.Combine(app, "Scaffolded")).Select(f => Path.GetFileName(f)).Order().ToArray();
            Assert.Equal(["Order.cs", "ScaffoldedContext.cs"], scaffolded);
            var scaffoldedContext = await File.ReadAllTextAsync(Path.Combine(app, "Scaffolded", "ScaffoldedContext.cs"));
            Assert.Contains(".UseAuroraDsql(", scaffoldedContext, StringComparison.Ordinal);
            Assert.DoesNotContain("dsql_local", scaffoldedContext, StringComparison.Ordinal);
            Assert.DoesNotContain("Lock", scaffoldedContext, StringComparison.Ordinal);

            // 5. Publish, start the published app, call it.
            var published = Path.Combine(work, "published");
            var publish = await Run("dotnet", ["publish", app, "-c", "Release", "-o", published], app, environment);
            Assert.True(publish.ExitCode == 0, $"dotnet publish failed:\n{publish.Output}");
            Assert.True(File.Exists(Path.Combine(published, "EFCore.Dsql.dll")));

            var port = FreePort();
            using var server = StartApp(published, port, environment);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            var types = await WaitForAsync(http, "/types", server.Process, server.Output);
            Assert.Contains("ShopContextFactory", types, StringComparison.Ordinal);

            var first = await http.PostAsync("/orders/3", null);
            Assert.True(first.IsSuccessStatusCode, $"POST /orders/3: {(int)first.StatusCode} {await first.Content.ReadAsStringAsync()}\n{server.Output}");
            var second = await http.PostAsync("/orders/4", null);
            Assert.Equal("{\"count\":2,\"total\":7}", await second.Content.ReadAsStringAsync());
            Assert.Equal(["2"], await Query(emulator, "SELECT count(*)::text FROM \"Orders\""));
            Assert.DoesNotContain("X-Amz-Signature", server.Output.ToString(), StringComparison.Ordinal);

            if (System.Environment.GetEnvironmentVariable("DSQL_TEST_SUMMARY_DIR") is { Length: > 0 } summaries)
            {
                await File.WriteAllTextAsync(
                    Path.Combine(summaries, "packed-consumer.txt"),
                    $"packed consumer: pack ({string.Join(", ", Packages)} {version}) -> dotnet add package -> migrations add -> database update -> dbcontext scaffold EFCore.Dsql -> publish -> run: passed in {stopwatch.Elapsed.TotalSeconds:F0} s (Dsql.Local, IAM, TLS {(emulator.TlsEnabled ? "on" : "off")}, EFCore.Dsql.Design.dll published: {File.Exists(Path.Combine(published, "EFCore.Dsql.Design.dll"))})\n");
            }
        }
        finally
        {
            // The packages went into the global packages folder under a one-off version: leave nothing behind.
            var globalPackages = System.Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
                ? configured
                : Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            foreach (var package in Packages)
            {
                TryDelete(Path.Combine(globalPackages, package.ToLowerInvariant(), version));
            }

            TryDelete(work);
        }
    }

    private static Dictionary<string, string?> Environment(DsqlLocalServer emulator) => new()
    {
        // Credentials from the environment, the region from appsettings.json's AWS section.
        ["AWS_ACCESS_KEY_ID"] = emulator.Credential.AccessKeyId,
        ["AWS_SECRET_ACCESS_KEY"] = emulator.Credential.SecretAccessKey,
        ["AWS_SESSION_TOKEN"] = null,
        ["AWS_REGION"] = null,
        ["AWS_DEFAULT_REGION"] = null,
        ["AWS_PROFILE"] = null,
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["DSQL_ENDPOINT"] = null,
        ["ASPNETCORE_ENVIRONMENT"] = null,
        ["DOTNET_ENVIRONMENT"] = null,
    };

    // dotnet-ef from the repository's tool manifest (hence the repository as working directory), building the app as needed.
    private Task<ProcessResult> Ef(string app, Dictionary<string, string?> environment, params string[] arguments)
        => Run("dotnet", ["ef", .. arguments, "--project", app], tool.RepositoryRoot, environment);

    private static Task<ProcessResult> Run(string fileName, string[] arguments, string directory, Dictionary<string, string?> environment)
        => DotnetEfTool.RunAsync(fileName, arguments, directory, environment);

    private static RunningApp StartApp(string published, int port, Dictionary<string, string?> environment)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = published, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(published, "Shop.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.WithEnvironment(environment);

        var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new RunningApp(process, output);
    }

    private static async Task<string> WaitForAsync(HttpClient http, string path, Process process, StringBuilder output)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            Assert.False(process.HasExited, $"The published app exited ({(process.HasExited ? process.ExitCode : 0)}):\n{output}");
            try
            {
                var response = await http.GetAsync(path);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}\n{output}");
                return body;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Task<List<string>> Query(DsqlLocalServer emulator, string sql)
        => BackendSql.ColumnAsync(emulator.BackendConnectionString, sql);

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private sealed class RunningApp(Process process, StringBuilder output) : IDisposable
    {
        public Process Process { get; } = process;

        public StringBuilder Output { get; } = output;

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(10_000);
            }

            Process.Dispose();
        }
    }
}
