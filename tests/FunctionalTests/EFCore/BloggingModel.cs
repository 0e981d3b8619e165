using Microsoft.EntityFrameworkCore.Diagnostics;

namespace EFCore.Dsql.FunctionalTests.EFCore;

public sealed class Blog
{
    public long Id { get; set; }
    public string Name { get; set; } = "";
    public List<Post> Posts { get; set; } = [];
}

public sealed class Post
{
    public Guid Id { get; set; }
    public string Title { get; set; } = "";
    public int Likes { get; set; }
    public long BlogId { get; set; }
    public Blog? Blog { get; set; }
}

/// <summary>
/// Blogs, posts and counters. Each test class uses its own subclass (and table prefix): subclasses get their own
/// cached model, and their tables never collide in the one shared database.
/// </summary>
public abstract class BloggingContext(DbContextOptions options, string tablePrefix) : DbContext(options)
{
    public DbSet<Blog> Blogs => Set<Blog>();
    public DbSet<Post> Posts => Set<Post>();
    public DbSet<Counter> Counters => Set<Counter>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Blog>().ToTable(tablePrefix + "blogs");
        modelBuilder.Entity<Post>().ToTable(tablePrefix + "posts");
        modelBuilder.Entity<Counter>(b =>
        {
            b.ToTable(tablePrefix + "counters");
            b.Property(c => c.Id).ValueGeneratedNever();
        });
    }
}

/// <summary>
/// The test assembly deliberately builds many differently configured contexts (retry settings, servers, credentials),
/// and EF counts internal service providers process-wide; log its "many service providers" warning instead of throwing.
/// </summary>
public static class TestWarnings
{
    public static void Configure(WarningsConfigurationBuilder warnings) => warnings.Log(CoreEventId.ManyServiceProvidersCreatedWarning);
}
