using Blog.Model;
using Microsoft.EntityFrameworkCore;

namespace Blog.Api;

/// <summary>The request bodies.</summary>
public sealed record NewBlog(string Name);

/// <summary>A new post; tags are created on first use.</summary>
public sealed record NewPost(string Title, string? Content, string[]? Tags);

/// <summary>A blog in responses.</summary>
public sealed record BlogView(Guid Id, string Name, DateTimeOffset CreatedAt, int PostCount);

/// <summary>A post in responses.</summary>
public sealed record PostView(Guid Id, Guid BlogId, string Title, string Content, long Likes, DateTimeOffset PublishedAt, string[] Tags);

/// <summary>
/// The sample's HTTP API. Every write runs through the context's execution strategy, so an optimistic-concurrency
/// conflict (SQLSTATE 40001, which DSQL reports at commit) is retried with a clean change tracker.
/// </summary>
public static class BlogApi
{
    /// <summary>Maps the endpoints.</summary>
    public static void MapBlogApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Results.Text("Aurora DSQL blog sample: GET /blogs, POST /blogs, GET /blogs/{id}, POST /blogs/{id}/posts, GET /posts?tag=x, POST /posts/{id}/like, DELETE /posts/{id}\n"));

        app.MapGet("/blogs", async (BlogContext db, CancellationToken ct) =>
            await db.Blogs.OrderBy(b => b.Name)
                .Select(b => new BlogView(b.Id, b.Name, b.CreatedAt, b.Posts.Count))
                .ToListAsync(ct));

        app.MapPost("/blogs", async (NewBlog body, BlogContext db, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(body.Name) || body.Name.Length > 200)
            {
                return Results.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["A name of 1 to 200 characters is required."] });
            }

            var name = body.Name.Trim();
            var blog = await WriteAsync(db, async () =>
            {
                if (await db.Blogs.AnyAsync(b => b.Name == name, ct))
                {
                    return null;
                }

                var blog = new Model.Blog { Name = name, CreatedAt = DateTimeOffset.UtcNow };
                db.Blogs.Add(blog);
                await db.SaveChangesAsync(ct);
                return blog;
            }, ct);

            return blog is null
                ? Results.Conflict(new { error = $"A blog named '{name}' already exists." })
                : Results.Created($"/blogs/{blog.Id}", new BlogView(blog.Id, blog.Name, blog.CreatedAt, 0));
        });

        app.MapGet("/blogs/{id:guid}", async (Guid id, BlogContext db, CancellationToken ct) =>
        {
            var blog = await db.Blogs.Where(b => b.Id == id)
                .Select(b => new BlogView(b.Id, b.Name, b.CreatedAt, b.Posts.Count))
                .SingleOrDefaultAsync(ct);
            if (blog is null)
            {
                return Results.NotFound();
            }

            var posts = await PostViews(db.Posts.Where(p => p.BlogId == id)).ToListAsync(ct);
            return Results.Ok(new { blog, posts });
        });

        app.MapPost("/blogs/{id:guid}/posts", async (Guid id, NewPost body, BlogContext db, CancellationToken ct) =>
        {
            if (string.IsNullOrWhiteSpace(body.Title) || body.Title.Length > 300)
            {
                return Results.ValidationProblem(new Dictionary<string, string[]> { ["title"] = ["A title of 1 to 300 characters is required."] });
            }

            var tagNames = (body.Tags ?? []).Select(t => t.Trim().ToLowerInvariant()).Where(t => t.Length is > 0 and <= 50).Distinct().ToArray();
            var post = await WriteAsync(db, async () =>
            {
                if (!await db.Blogs.AnyAsync(b => b.Id == id, ct))
                {
                    return null;
                }

                var post = new Post { BlogId = id, Title = body.Title.Trim(), Content = body.Content ?? "", PublishedAt = DateTimeOffset.UtcNow };
                var existing = await db.Tags.Where(t => tagNames.Contains(t.Name)).ToListAsync(ct);
                post.Tags.AddRange(existing);
                post.Tags.AddRange(tagNames.Except(existing.Select(t => t.Name)).Select(name => new Tag { Name = name }));
                db.Posts.Add(post);

                // The post, any new tags and the links commit together or not at all; a conflict retries the whole unit.
                await using var transaction = await db.Database.BeginTransactionAsync(ct);
                await db.SaveChangesAsync(ct);
                await transaction.CommitAsync(ct);
                return post;
            }, ct);

            return post is null
                ? Results.NotFound()
                : Results.Created($"/posts/{post.Id}", ToView(post));
        });

        app.MapGet("/posts", async (string? tag, BlogContext db, CancellationToken ct) =>
        {
            var posts = db.Posts.AsQueryable();
            if (!string.IsNullOrWhiteSpace(tag))
            {
                var name = tag.Trim().ToLowerInvariant();
                posts = posts.Where(p => p.Tags.Any(t => t.Name == name));
            }

            return await PostViews(posts).ToListAsync(ct);
        });

        app.MapPost("/posts/{id:guid}/like", async (Guid id, BlogContext db, CancellationToken ct) =>
        {
            // One UPDATE: concurrent likes conflict at commit and the strategy retries them; none is lost.
            var updated = await WriteAsync(db, () => db.Posts.Where(p => p.Id == id)
                .ExecuteUpdateAsync(s => s.SetProperty(p => p.Likes, p => p.Likes + 1), ct), ct);
            if (updated == 0)
            {
                return Results.NotFound();
            }

            var likes = await db.Posts.Where(p => p.Id == id).Select(p => p.Likes).SingleAsync(ct);
            return Results.Ok(new { id, likes });
        });

        app.MapDelete("/posts/{id:guid}", async (Guid id, BlogContext db, CancellationToken ct) =>
        {
            var deleted = await WriteAsync(db, async () =>
            {
                await using var transaction = await db.Database.BeginTransactionAsync(ct);
                var post = await db.Posts.Include(p => p.Tags).SingleOrDefaultAsync(p => p.Id == id, ct);
                if (post is null)
                {
                    return false;
                }

                db.Posts.Remove(post);
                await db.SaveChangesAsync(ct);
                await transaction.CommitAsync(ct);
                return true;
            }, ct);

            return deleted ? Results.NoContent() : Results.NotFound();
        });
    }

    // Each attempt starts from an empty change tracker, so a retry re-reads current data instead of replaying stale entities.
    private static Task<T> WriteAsync<T>(BlogContext db, Func<Task<T>> unitOfWork, CancellationToken ct)
        => db.Database.CreateExecutionStrategy().ExecuteAsync(async _ =>
        {
            db.ChangeTracker.Clear();
            return await unitOfWork();
        }, ct);

    private static IQueryable<PostView> PostViews(IQueryable<Post> posts)
        => posts.OrderByDescending(p => p.PublishedAt)
            .Select(p => new PostView(p.Id, p.BlogId, p.Title, p.Content, p.Likes, p.PublishedAt, p.Tags.OrderBy(t => t.Name).Select(t => t.Name).ToArray()));

    private static PostView ToView(Post p)
        => new(p.Id, p.BlogId, p.Title, p.Content, p.Likes, p.PublishedAt, p.Tags.Select(t => t.Name).Order().ToArray());
}
