#pragma warning disable EF1001 // The tests inspect EF's and EFCore.Dsql's internal services on purpose.

using System.Reflection;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Design.Internal;
using Microsoft.EntityFrameworkCore.Dsql.Design.Internal;
using Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;
using Microsoft.EntityFrameworkCore.Dsql.Scaffolding.Internal;
using Microsoft.EntityFrameworkCore.Scaffolding;
using Microsoft.EntityFrameworkCore.Scaffolding.Metadata;
using Microsoft.EntityFrameworkCore.Metadata;

namespace EFCore.Dsql.UnitTests.Design;

public sealed class DesignBlog
{
    public long Id { get; set; }
    public string Name { get; set; } = "";
}

public sealed class DesignContext(DbContextOptions<DesignContext> options) : DbContext(options)
{
    public DbSet<DesignBlog> Blogs => Set<DesignBlog>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
        => modelBuilder.Entity<DesignBlog>().HasIndex(b => b.Name);
}

public sealed class ContextWithoutOptionsConstructor : DbContext;

/// <summary>The one-line subclass users write, with the environment replaced for the tests.</summary>
public sealed class DesignContextFactory : DsqlDesignTimeDbContextFactory<DesignContext>
{
    /// <summary>The configuration the host would have read (appsettings, user secrets, environment).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    public int ConfigureDsqlCalls { get; private set; }

    protected override IConfiguration BuildConfiguration(string[] args)
        => new ConfigurationBuilder()
            .AddInMemoryCollection(Environment.Select(e => new KeyValuePair<string, string?>(e.Key, e.Value)))
            .AddCommandLine(args)
            .Build();

    protected override void ConfigureDsql(DsqlDbContextOptionsBuilder dsqlOptions)
    {
        ConfigureDsqlCalls++;
        dsqlOptions.IdentityCacheSize(1);
    }
}

public sealed class NoConstructorFactory : DsqlDesignTimeDbContextFactory<ContextWithoutOptionsConstructor>
{
    protected override IConfiguration BuildConfiguration(string[] args) => new ConfigurationBuilder().Build();
}

public sealed class DsqlDesignTimeDbContextFactoryTests
{
    private const string Endpoint = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";

    [Fact]
    public void Factory_builds_a_UseAuroraDsql_context_for_the_endpoint_argument()
    {
        var factory = new DesignContextFactory();

        using var context = factory.CreateDbContext(["--endpoint", Endpoint, "--user", "migrator"]);

        var dsql = context.GetService<IDbContextOptions>().FindExtension<DsqlOptionsExtension>();
        Assert.NotNull(dsql);
        Assert.Equal(Endpoint, dsql.ConnectionOptions!.Host);
        Assert.Equal("migrator", dsql.ConnectionOptions.Username);
        Assert.Equal(1, dsql.IdentityCacheSize);
        Assert.Equal(1, factory.ConfigureDsqlCalls);
        Assert.IsType<DsqlMigrationsSqlGenerator>(context.GetService<IMigrationsSqlGenerator>());
    }

    [Fact]
    public void Factory_reads_DSQL_ENDPOINT_when_no_argument_is_given()
    {
        var factory = new DesignContextFactory { Environment = { ["DSQL_ENDPOINT"] = Endpoint } };

        using var context = factory.CreateDbContext([]);

        var connectionString = context.Database.GetConnectionString();
        Assert.Contains($"Host={Endpoint}", connectionString, StringComparison.Ordinal);
        Assert.DoesNotContain("Password", connectionString, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Factory_reads_the_connection_string_named_after_the_context_and_the_AWS_section()
    {
        var factory = new DesignContextFactory
        {
            Environment = { ["ConnectionStrings:Design"] = "Host=abcdefghijklmnopqrstuvwxyz;Username=app_user", ["AWS:Region"] = "eu-west-1" },
        };

        using var context = factory.CreateDbContext([]);

        var options = context.GetService<IDbContextOptions>().FindExtension<DsqlOptionsExtension>()!.ConnectionOptions!;
        Assert.Equal("abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws", options.Host);
        Assert.Equal("app_user", options.Username);
    }

    [Fact]
    public void Factory_base_lives_in_the_runtime_assembly_so_published_apps_load_their_subclasses()
    {
        Assert.Equal("EFCore.Dsql", typeof(DsqlDesignTimeDbContextFactory<>).Assembly.GetName().Name);
        Assert.Equal("EFCore.Dsql", typeof(DsqlDesignTimeServices).Assembly.GetName().Name);
    }

    [Fact]
    public void Factory_without_any_endpoint_refuses_to_connect_and_says_how_to_give_one()
    {
        using var context = new DesignContextFactory().CreateDbContext([]);

        var e = Assert.Throws<InvalidOperationException>(() => context.Database.OpenConnection());

        Assert.Contains("'DesignContext'", e.Message, StringComparison.Ordinal);
        Assert.Contains("--endpoint", e.Message, StringComparison.Ordinal);
        Assert.Contains("DSQL_ENDPOINT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Factory_without_any_endpoint_refuses_async_opens_too()
    {
        await using var context = new DesignContextFactory().CreateDbContext([]);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => context.Database.OpenConnectionAsync());

        Assert.Contains("DSQL_ENDPOINT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Factory_without_any_endpoint_still_generates_migration_SQL_offline()
    {
        using var context = new DesignContextFactory().CreateDbContext([]);
        var model = context.GetService<IDesignTimeModel>().Model;

        var operations = context.GetService<IMigrationsModelDiffer>().GetDifferences(null, model.GetRelationalModel());
        var sql = string.Join("\n", context.GetService<IMigrationsSqlGenerator>().Generate(operations, model).Select(c => c.CommandText));

        Assert.Contains("CREATE INDEX ASYNC", sql, StringComparison.Ordinal);
    }

    [Fact]
    public void Context_without_an_options_constructor_gets_a_message_naming_the_fix()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new NoConstructorFactory().CreateDbContext(["--endpoint", Endpoint]));

        Assert.Contains("DbContextOptions<ContextWithoutOptionsConstructor>", e.Message, StringComparison.Ordinal);
        Assert.Contains("override CreateDbContext", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_targets_add_the_design_time_services_reference_for_Npgsql_contexts()
    {
        var reference = Assert.Single(typeof(DsqlDesignTimeDbContextFactoryTests).Assembly.GetCustomAttributes<DesignTimeServicesReferenceAttribute>());

        Assert.Equal("Npgsql.EntityFrameworkCore.PostgreSQL", reference.ForProvider);
        Assert.Equal(typeof(DsqlDesignTimeServices), Type.GetType(reference.TypeName, throwOnError: true));
    }

    [Fact]
    public void Design_time_services_EF_tools_build_resolve_the_DSQL_migrations_services()
    {
        using var context = new DesignContextFactory().CreateDbContext(["--endpoint", Endpoint]);
        using var scope = EfTools().Build(context).CreateScope();

        Assert.IsType<DsqlMigrationsSqlGenerator>(scope.ServiceProvider.GetRequiredService<IMigrationsSqlGenerator>());
        Assert.IsType<DsqlMigrator>(scope.ServiceProvider.GetRequiredService<IMigrator>());
        Assert.IsType<DsqlHistoryRepository>(scope.ServiceProvider.GetRequiredService<IHistoryRepository>());
    }

    [Fact]
    public void Design_time_services_keep_Npgsql_migrations_services_for_a_plain_Npgsql_context()
    {
        using var context = new PlainNpgsqlContext();
        using var scope = EfTools().Build(context).CreateScope();

        var generator = scope.ServiceProvider.GetRequiredService<IMigrationsSqlGenerator>();
        Assert.IsNotType<DsqlMigrationsSqlGenerator>(generator);
    }

    [Fact]
    public void Design_time_services_SQL_generator_emits_DSQL_index_DDL()
    {
        using var context = new DesignContextFactory().CreateDbContext(["--endpoint", Endpoint]);
        using var scope = EfTools().Build(context).CreateScope();
        var differ = scope.ServiceProvider.GetRequiredService<IMigrationsModelDiffer>();
        var model = context.GetService<IDesignTimeModel>().Model;

        var operations = differ.GetDifferences(null, model.GetRelationalModel());
        var sql = string.Join("\n", scope.ServiceProvider.GetRequiredService<IMigrationsSqlGenerator>().Generate(operations, model).Select(c => c.CommandText));

        Assert.Contains("CREATE INDEX ASYNC \"IX_Blogs_Name\" ON \"Blogs\" (\"Name\");", sql, StringComparison.Ordinal);
        Assert.Contains("CACHE 1", sql, StringComparison.Ordinal);
    }

    [Fact]
    public void Design_time_services_without_a_context_still_provide_Npgsql_scaffolding_services()
    {
        // dotnet ef dbcontext scaffold builds the services from the provider name alone.
        using var scope = EfTools().Build("Npgsql.EntityFrameworkCore.PostgreSQL").CreateScope();

        Assert.Equal("NpgsqlDatabaseModelFactory", scope.ServiceProvider.GetRequiredService<Microsoft.EntityFrameworkCore.Scaffolding.IDatabaseModelFactory>().GetType().Name);
        Assert.NotNull(scope.ServiceProvider.GetRequiredService<Microsoft.EntityFrameworkCore.Scaffolding.IReverseEngineerScaffolder>());
    }

    [Fact]
    public void Provider_name_EFCore_Dsql_scaffolds_with_IAM_and_generates_UseAuroraDsql()
    {
        // dotnet ef dbcontext scaffold "<endpoint>" EFCore.Dsql: the provider's [DesignTimeProviderServices] names ours.
        using var scope = EfTools().Build("EFCore.Dsql").CreateScope();

        Assert.IsType<DsqlDatabaseModelFactory>(scope.ServiceProvider.GetRequiredService<IDatabaseModelFactory>());
        var useProvider = scope.ServiceProvider.GetRequiredService<IProviderConfigurationCodeGenerator>()
            .GenerateUseProvider("abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws");
        Assert.Equal("UseAuroraDsql", useProvider.Method);
        Assert.Equal(["abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"], useProvider.Arguments);
    }

    [Fact]
    public void Scaffolding_leaves_out_the_emulators_schemas_and_the_migrations_tables_unless_asked_for()
    {
        DatabaseModel Model()
        {
            var model = new DatabaseModel();
            var orders = new DatabaseTable { Database = model, Name = "Orders", Schema = "public" };
            var lockTable = new DatabaseTable { Database = model, Name = "__EFMigrationsLock", Schema = "public" };
            var history = new DatabaseTable { Database = model, Name = "__EFMigrationsHistory", Schema = "public" };
            var jobs = new DatabaseTable { Database = model, Name = "jobs", Schema = "sys" };
            var tokens = new DatabaseTable { Database = model, Name = "keys", Schema = "dsql_local" };
            foreach (var table in (DatabaseTable[])[orders, lockTable, history, jobs, tokens])
            {
                model.Tables.Add(table);
            }

            return model;
        }

        var all = Model();
        DsqlDatabaseModelFactory.RemoveInfrastructure(all, new DatabaseModelFactoryOptions());
        Assert.Equal(["Orders"], all.Tables.Select(t => t.Name));

        var asked = Model();
        DsqlDatabaseModelFactory.RemoveInfrastructure(asked, new DatabaseModelFactoryOptions(tables: ["__EFMigrationsLock"], schemas: ["sys"]));
        Assert.Equal(["Orders", "__EFMigrationsLock", "jobs"], asked.Tables.Select(t => t.Name));
    }

    private sealed class PlainNpgsqlContext : DbContext
    {
        protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder)
            => optionsBuilder.UseNpgsql("Host=localhost;Username=postgres");
    }

    // Exactly what dotnet ef does: the provider's services, then the startup assembly's referenced services (this assembly).
    private static DesignTimeServicesBuilder EfTools()
    {
        var assembly = typeof(DsqlDesignTimeDbContextFactoryTests).Assembly;
        return new DesignTimeServicesBuilder(assembly, assembly, new OperationReporter(handler: null), []);
    }
}
