using Blog;
using Blog.Api;
using Blog.Model;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.EntityFrameworkCore;

var builder = WebApplication.CreateBuilder(args);

// Serve on loopback only unless told otherwise (--urls or ASPNETCORE_URLS).
if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5080");
}

// DSQL_ENDPOINT set: that cluster. Not set: the local emulator, started below (never at design time: dotnet ef stops
// the app at Build() and creates the context through BlogContextFactory).
var database = new BlogDatabase(builder.Configuration);
builder.Services.AddHostedService(_ => new BlogDatabase.StopOnShutdown(database)); // stops the emulator with the app

// One pool of contexts; UseAuroraDsql brings IAM tokens, DSQL-safe connections and OCC retries.
builder.Services.AddDbContextPool<BlogContext>(options => options.UseAuroraDsql(database.ConnectionOptions, database.Configure));

var app = builder.Build();
app.MapBlogApi();

try
{
    await database.StartAsync(app.Lifetime.ApplicationStopping);
    await BlogDatabase.MigrateAsync(app.Services, app.Lifetime.ApplicationStopping);
}
catch
{
    await database.DisposeAsync(); // never leave the emulator's PostgreSQL behind
    throw;
}

app.Lifetime.ApplicationStarted.Register(() =>
{
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
        ?? "http://127.0.0.1:5080";
    Console.WriteLine($$"""

        Blog sample on {{address}}
        Database: {{database.Description}}
        Try:
          curl -s -X POST {{address}}/blogs -H 'Content-Type: application/json' -d '{"name":"Aurora notes"}'
          curl -s {{address}}/blogs
          curl -s -X POST {{address}}/blogs/<blog-id>/posts -H 'Content-Type: application/json' -d '{"title":"Hello DSQL","content":"First post","tags":["dsql","efcore"]}'
          curl -s '{{address}}/posts?tag=dsql'
          curl -s -X POST {{address}}/posts/<post-id>/like
        Press Ctrl+C to stop.
        """);
});

await app.RunAsync();

