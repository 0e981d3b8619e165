namespace EFCore.Dsql.FunctionalTests.Design;

/// <summary>
/// The EF Core command-line tools against Dsql.Local with IAM verification on, for an app that registers its context
/// with <c>AddDbContext(o =&gt; o.UseAuroraDsql(...))</c> and has no design-time factory (tests/HostApp): the tools build
/// the app's host, take the context from it and authenticate with tokens signed from the AWS environment.
/// </summary>
public sealed class DotnetEfHostTests(DotnetEfTool tool) : IClassFixture<DotnetEfTool>
{
    // What dotnet ef --verbose prints when it takes the context from the app's host rather than a factory.
    private const string HostServiceProvider = "Using application service provider from Microsoft.Extensions.Hosting.";

    private const string SignatureMismatch = "the signature does not match";

    private static readonly string[] Tables = ["Libraries", "Books", "__EFMigrationsHistory", "__EFMigrationsLock"];

    [Fact]
    public async Task Migrations_list_and_database_update_authenticate_with_IAM_through_the_apps_host()
    {
        await using var emulator = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        var migrations = CheckedInMigrations();
        Assert.NotEmpty(migrations);
        var environment = DotnetEfTool.AwsEnvironment(emulator);

        // migrations list reads the history table, so it connects: every migration is pending on the empty database.
        var pending = await tool.EfAsync(tool.HostAppProject, environment, "migrations", "list", "--verbose");
        Assert.True(pending.ExitCode == 0, $"dotnet ef migrations list failed:\n{pending.Output}");
        Assert.Contains(HostServiceProvider, pending.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening on", pending.Output, StringComparison.Ordinal); // the tools stop the app at Build()
        Assert.DoesNotContain("An error occurred while accessing the database", pending.Output, StringComparison.Ordinal);
        Assert.All(migrations, m => Assert.Contains($"{m} (Pending)", pending.Output, StringComparison.Ordinal));
        AssertNoSecrets(pending.Output, emulator.Credential.SecretAccessKey);

        // The same command signing with a wrong secret key is refused by the emulator's IAM check, and changes nothing.
        var wrongSecret = new Dictionary<string, string?>(environment) { ["AWS_SECRET_ACCESS_KEY"] = "wrong-" + Guid.NewGuid().ToString("N") };
        var refused = await tool.EfAsync(tool.HostAppProject, wrongSecret, "database", "update");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains(SignatureMismatch, refused.Output, StringComparison.Ordinal);
        AssertNoSecrets(refused.Output, wrongSecret["AWS_SECRET_ACCESS_KEY"]!);
        Assert.Empty(await QueryAsync(emulator, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"));

        var update = await tool.EfAsync(tool.HostAppProject, environment, "database", "update", "--verbose");
        Assert.True(update.ExitCode == 0, $"dotnet ef database update failed:\n{update.Output}");
        Assert.Contains(HostServiceProvider, update.Output, StringComparison.Ordinal);
        Assert.Contains("CREATE UNIQUE INDEX ASYNC \"IX_Books_Isbn\"", update.Output, StringComparison.Ordinal); // the DSQL migrations SQL
        AssertNoSecrets(update.Output, emulator.Credential.SecretAccessKey);

        Assert.Equal(Tables.Order(), (await QueryAsync(emulator, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).Order());
        Assert.Equal(migrations, await QueryAsync(emulator, "SELECT \"MigrationId\" FROM \"__EFMigrationsHistory\" ORDER BY \"MigrationId\""));
        Assert.Equal(
            ["CREATE INDEX \"IX_Books_LibraryId\" ON public.\"Books\" USING btree (\"LibraryId\")", "CREATE UNIQUE INDEX \"IX_Books_Isbn\" ON public.\"Books\" USING btree (\"Isbn\")", "CREATE UNIQUE INDEX \"PK_Books\" ON public.\"Books\" USING btree (\"Id\")"],
            await QueryAsync(emulator, "SELECT indexdef FROM pg_indexes WHERE tablename = 'Books' ORDER BY indexdef"));
        Assert.Equal(
            ["FK_Books_Libraries_LibraryId"],
            await QueryAsync(emulator, "SELECT conname::text FROM pg_constraint WHERE contype = 'f' AND conrelid = '\"Books\"'::regclass"));

        var applied = await tool.EfAsync(tool.HostAppProject, environment, "migrations", "list");
        Assert.True(applied.ExitCode == 0, $"dotnet ef migrations list failed:\n{applied.Output}");
        Assert.All(migrations, m => Assert.Contains(m, applied.Output, StringComparison.Ordinal));
        Assert.DoesNotContain("(Pending)", applied.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("An error occurred while accessing the database", applied.Output, StringComparison.Ordinal);
    }

    // The migration IDs in tests/HostApp/Migrations (each <id>.cs has an <id>.Designer.cs), in the order EF applies them.
    private List<string> CheckedInMigrations()
        => Directory.GetFiles(Path.Combine(Path.GetDirectoryName(tool.HostAppProject)!, "Migrations"), "*.Designer.cs")
            .Select(f => Path.GetFileName(f)[..^".Designer.cs".Length])
            .Order(StringComparer.Ordinal)
            .ToList();

    // Tokens are presigned URLs; neither they nor the secret key they are signed with may reach the tools' output.
    private static void AssertNoSecrets(string output, string secretAccessKey)
    {
        Assert.DoesNotContain("X-Amz-Signature", output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("X-Amz-Credential", output, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(secretAccessKey, output, StringComparison.Ordinal);
    }

    private static Task<List<string>> QueryAsync(DsqlLocalServer emulator, string sql)
        => BackendSql.ColumnAsync(emulator.BackendConnectionString, sql);
}
