#pragma warning disable EF1001 // tests reach into EFCore.Dsql internals on purpose
using EFCore.Dsql.FunctionalTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace EFCore.Dsql.FunctionalTests.EFCore;

[Collection(PostgresCollection.Name)]
public sealed class CrudAndQueryTests(PostgresFixture fixture) : IAsyncLifetime
{
    private sealed class Context(DbContextOptions options) : BloggingContext(options, "crud_");

    private readonly PostgresTarget _target = new(fixture);

    private Context NewContext(Action<DsqlDbContextOptionsBuilder>? dsql = null)
        => new(_target.Configure(new DbContextOptionsBuilder(), dsql).Options);

    public async Task InitializeAsync()
    {
        await using var context = NewContext();
        await context.Database.EnsureDeletedAsync();
        Assert.True(await context.Database.EnsureCreatedAsync());
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Entities_round_trip_with_server_generated_bigint_and_uuid_keys()
    {
        long blogId;
        await using (var context = NewContext())
        {
            var blog = new Blog { Name = "DSQL notes", Posts = [new Post { Title = "Hello" }, new Post { Title = "OCC" }] };
            context.Blogs.Add(blog);
            await context.SaveChangesAsync();
            blogId = blog.Id;
            Assert.True(blog.Id > 0);
            Assert.All(blog.Posts, p => Assert.NotEqual(Guid.Empty, p.Id));
        }

        await using (var context = NewContext())
        {
            var blog = await context.Blogs.Include(b => b.Posts).SingleAsync(b => b.Id == blogId);
            Assert.Equal(["Hello", "OCC"], blog.Posts.Select(p => p.Title).Order());

            blog.Name = "Renamed";
            context.Posts.Remove(blog.Posts.Single(p => p.Title == "Hello"));
            await context.SaveChangesAsync();
        }

        await using (var context = NewContext())
        {
            var blog = await context.Blogs.Include(b => b.Posts).SingleAsync(b => b.Id == blogId);
            Assert.Equal(("Renamed", 1), (blog.Name, blog.Posts.Count));

            context.Blogs.Remove(blog);
            await context.SaveChangesAsync();
            Assert.False(await context.Posts.AnyAsync(p => p.BlogId == blogId));
        }
    }

    [Fact]
    public async Task Queries_translate_filters_ordering_paging_grouping_and_projections()
    {
        await using (var context = NewContext())
        {
            context.Blogs.Add(new Blog
            {
                Name = "queries",
                Posts = Enumerable.Range(1, 12).Select(i => new Post { Title = $"post {i:00}", Likes = i % 4 }).ToList(),
            });
            await context.SaveChangesAsync();
        }

        await using var query = NewContext();
        var posts = query.Posts.Where(p => p.Blog!.Name == "queries");

        var page = await posts.OrderByDescending(p => p.Title).Skip(2).Take(3).Select(p => p.Title).ToListAsync();
        var byLikes = await posts.GroupBy(p => p.Likes).Select(g => new { Likes = g.Key, Count = g.Count() }).OrderBy(g => g.Likes).ToListAsync();
        var popular = await posts.CountAsync(p => p.Likes >= 2 && p.Title.StartsWith("post"));

        Assert.Equal(["post 10", "post 09", "post 08"], page);
        Assert.Equal([0, 1, 2, 3], byLikes.Select(g => g.Likes));
        Assert.All(byLikes, g => Assert.Equal(3, g.Count));
        Assert.Equal(6, popular);
    }

    [Fact]
    public async Task Many_rows_in_one_SaveChanges_are_batched_in_one_transaction()
    {
        await using var context = NewContext();
        context.Blogs.AddRange(Enumerable.Range(0, 50).Select(i => new Blog { Name = $"batch {i}" }));

        Assert.Equal(50, await context.SaveChangesAsync());
        Assert.Equal(50, await context.Blogs.CountAsync(b => b.Name.StartsWith("batch ")));
    }

    [Fact]
    public async Task EnsureCreated_is_a_no_op_when_the_model_tables_exist_and_CanConnect_connects()
    {
        await using var context = NewContext();

        Assert.False(await context.Database.EnsureCreatedAsync());
        Assert.True(await context.Database.CanConnectAsync());
        Assert.True(context.Database.CanConnect());
    }

    [Fact]
    public async Task CanConnect_reports_false_for_an_unreachable_endpoint()
    {
        await using var context = new Context(new DbContextOptionsBuilder()
            .UseAuroraDsql("Host=127.0.0.1;Port=1;SSL Mode=Disable;Timeout=2", o => o.Region("us-east-1").Credentials(PostgresTarget.Credentials).DisableRetryOnFailure())
            .ConfigureWarnings(TestWarnings.Configure)
            .Options);

        Assert.False(await context.Database.CanConnectAsync());
    }

    [Fact]
    public async Task EnsureDeleted_drops_only_the_model_tables()
    {
        await _target.QueryAsync<int>("CREATE TABLE IF NOT EXISTS crud_unrelated (id int); SELECT 1");
        await using var context = new DropContext(_target.Configure(new DbContextOptionsBuilder()).Options);
        await context.Database.EnsureCreatedAsync();

        Assert.True(await context.Database.EnsureDeletedAsync());

        Assert.Equal(0L, await _target.QueryAsync<long>("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'drop\\_%'"));
        Assert.Equal(1L, await _target.QueryAsync<long>("SELECT count(*) FROM information_schema.tables WHERE table_name = 'crud_unrelated'"));
        Assert.True(await context.Database.EnsureCreatedAsync());
    }

    [Fact]
    public void Creating_the_database_is_refused_with_a_pointer_to_EnsureCreated_and_migrations()
    {
        using var context = NewContext();
        var creator = (Microsoft.EntityFrameworkCore.Storage.IRelationalDatabaseCreator)context.GetService<Microsoft.EntityFrameworkCore.Storage.IDatabaseCreator>();

        var ex = Assert.Throws<NotSupportedException>(creator.Create);
        Assert.Contains("EnsureCreated", ex.Message);
        Assert.Contains("Migrate", ex.Message);
    }

    private sealed class DropContext(DbContextOptions options) : BloggingContext(options, "drop_");
}
