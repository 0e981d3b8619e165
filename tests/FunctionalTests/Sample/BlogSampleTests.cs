using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Blog.Model;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace EFCore.Dsql.FunctionalTests.Sample;

/// <summary>Runs samples/Blog in-process exactly as <c>dotnet run</c> does without AWS settings: its own Dsql.Local emulator (IAM checks on).</summary>
public sealed class BlogSampleFactory : WebApplicationFactory<BlogContext>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
        => builder
            .UseSetting("DSQL_ENDPOINT", "") // never a real cluster from the developer's environment
            // The test process builds many differently configured contexts before this one; EF counts their service
            // providers process-wide, so log its warning here as every other test context does.
            .ConfigureServices(services => services.ConfigureDbContext<BlogContext>(
                options => options.ConfigureWarnings(global::EFCore.Dsql.FunctionalTests.EFCore.TestWarnings.Configure)));
}

public sealed class BlogSampleTests(BlogSampleFactory factory) : IClassFixture<BlogSampleFactory>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task Sample_applies_its_migrations_to_the_emulator_at_start_up()
    {
        using var client = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode);

        await using var scope = factory.Services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<BlogContext>();
        Assert.Equal(context.Database.GetMigrations(), await context.Database.GetAppliedMigrationsAsync());
        Assert.Empty(await context.Database.GetPendingMigrationsAsync());
    }

    [Fact]
    public async Task Blogs_posts_and_tags_round_trip_over_HTTP()
    {
        using var client = factory.CreateClient();

        var blog = await CreateBlogAsync(client, "Round trip");
        var created = await client.PostAsJsonAsync($"/blogs/{blog.Id}/posts", new { title = "Hello DSQL", content = "First post", tags = new[] { "DSQL", "efcore", "dsql" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var post = (await created.Content.ReadFromJsonAsync<PostDto>(Json))!;
        Assert.Equal(["dsql", "efcore"], post.Tags);

        // A second post reuses the existing tag rows.
        var second = await client.PostAsJsonAsync($"/blogs/{blog.Id}/posts", new { title = "Second", tags = new[] { "efcore", "roundtrip" } });
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);

        var byTag = (await client.GetFromJsonAsync<PostDto[]>("/posts?tag=efcore", Json))!;
        Assert.Equal(2, byTag.Count(p => p.BlogId == blog.Id));
        var onlyFirst = (await client.GetFromJsonAsync<PostDto[]>("/posts?tag=DSQL", Json))!;
        Assert.Contains(onlyFirst, p => p.Id == post.Id);
        Assert.DoesNotContain(onlyFirst, p => p.Title == "Second");

        var blogs = (await client.GetFromJsonAsync<BlogDto[]>("/blogs", Json))!;
        Assert.Equal(2, blogs.Single(b => b.Id == blog.Id).PostCount);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/posts/{post.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync($"/posts/{post.Id}")).StatusCode);

        using var details = JsonDocument.Parse(await client.GetStringAsync($"/blogs/{blog.Id}"));
        Assert.Equal(1, details.RootElement.GetProperty("posts").GetArrayLength());

        await using var scope = factory.Services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<BlogContext>();
        Assert.Equal(3, await context.Tags.CountAsync(t => t.Name == "dsql" || t.Name == "efcore" || t.Name == "roundtrip"));
    }

    [Fact]
    public async Task Concurrent_likes_of_one_post_are_all_counted()
    {
        using var client = factory.CreateClient();
        var blog = await CreateBlogAsync(client, "Likes");
        var post = (await (await client.PostAsJsonAsync($"/blogs/{blog.Id}/posts", new { title = "Popular" })).Content.ReadFromJsonAsync<PostDto>(Json))!;

        // Every like is one UPDATE of the same row; conflicts are retried by the execution strategy, none is lost.
        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => client.PostAsync($"/posts/{post.Id}/like", null)));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var posts = (await client.GetFromJsonAsync<PostDto[]>("/posts", Json))!;
        Assert.Equal(8, posts.Single(p => p.Id == post.Id).Likes);
    }

    [Fact]
    public async Task Bad_requests_get_problem_answers_not_server_errors()
    {
        using var client = factory.CreateClient();
        var blog = await CreateBlogAsync(client, "Unique name");

        var duplicate = await client.PostAsJsonAsync("/blogs", new { name = blog.Name });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Contains("already exists", await duplicate.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsJsonAsync("/blogs", new { name = " " })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync($"/blogs/{Guid.NewGuid()}/posts", new { title = "Orphan" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync($"/posts/{Guid.NewGuid()}/like", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/blogs/{Guid.NewGuid()}")).StatusCode);
    }

    private static async Task<BlogDto> CreateBlogAsync(HttpClient client, string name)
    {
        var response = await client.PostAsJsonAsync("/blogs", new { name = $"{name} {Guid.NewGuid():N}"[..Math.Min(200, name.Length + 33)] });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<BlogDto>(Json))!;
    }

    private sealed record BlogDto(Guid Id, string Name, int PostCount);

    private sealed record PostDto(Guid Id, Guid BlogId, string Title, long Likes, string[] Tags);
}
