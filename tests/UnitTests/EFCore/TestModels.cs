#pragma warning disable EF1001 // tests reach into EFCore.Dsql and Npgsql internals on purpose

namespace EFCore.Dsql.UnitTests.EFCore;

public sealed class LongKeyBlog
{
    public long Id { get; set; }
    public string Name { get; set; } = "";
}

public sealed class GuidKeyPost
{
    public Guid Id { get; set; }
    public string Title { get; set; } = "";
}

public sealed class IntKeyThing
{
    public int Id { get; set; }
}

public sealed class ArrayThing
{
    public long Id { get; set; }
    public int[] Numbers { get; set; } = [];
}

public sealed class MoneyThing
{
    public long Id { get; set; }
    public decimal Price { get; set; }
}

/// <summary>A context whose model is supplied by the test; nothing here ever opens a connection.</summary>
public sealed class ModelContext(Action<ModelBuilder> model, Action<DsqlDbContextOptionsBuilder>? dsql = null, string source = TestEndpoints.Endpoint)
    : DbContext
{
    protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder)
        => optionsBuilder.UseAuroraDsql(source, o =>
        {
            o.Credentials(TestEndpoints.Credentials);
            dsql?.Invoke(o);
        }).ReplaceService<IModelCacheKeyFactory, UniqueModelCacheKeyFactory>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) => model(modelBuilder);
}

/// <summary>Every context instance builds its own model: the tests give one context type many models.</summary>
public sealed class UniqueModelCacheKeyFactory : IModelCacheKeyFactory
{
    public object Create(DbContext context, bool designTime) => new object();
}

public static class TestEndpoints
{
    public const string ClusterId = "abcdefghijklmnopqrstuvwxyz";
    public const string Endpoint = ClusterId + ".dsql.us-east-1.on.aws";
    public const string SecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    // One shared instance: contexts configured with it share EF's internal service provider.
    public static readonly AWSCredentials Credentials = new BasicAWSCredentials("AKIDEXAMPLE", SecretKey);

    public static DbContextOptions<DbContext> Options(Action<DsqlDbContextOptionsBuilder>? dsql = null, string source = Endpoint)
        => Options<DbContext>(dsql, source);

    /// <summary>The shipped set-up (<c>UseAuroraDsql</c>) with the shared test credentials; nothing connects until a test opens a connection.</summary>
    public static DbContextOptions<TContext> Options<TContext>(Action<DsqlDbContextOptionsBuilder>? dsql = null, string source = Endpoint)
        where TContext : DbContext
        => new DbContextOptionsBuilder<TContext>().UseAuroraDsql(source, o =>
        {
            o.Credentials(Credentials);
            dsql?.Invoke(o);
        }).Options;
}
