using HostApp;
using Microsoft.EntityFrameworkCore;

var builder = WebApplication.CreateBuilder(args);

// The cluster comes from configuration: the DSQL_ENDPOINT environment variable, or '--DSQL_ENDPOINT <endpoint>' on the
// command line (dotnet ef passes what follows '--' to the app). Read when a context is first created, so building the
// host never needs it; credentials come from the AWS SDK's default chain, tokens from UseAuroraDsql.
builder.Services.AddDbContext<HostAppContext>(options => options.UseAuroraDsql(
    builder.Configuration["DSQL_ENDPOINT"] is { Length: > 0 } endpoint
        ? endpoint
        : throw new InvalidOperationException(
            "DSQL_ENDPOINT is not configured: set the environment variable DSQL_ENDPOINT to the cluster endpoint, or pass '--DSQL_ENDPOINT <endpoint>' (after '--' for dotnet ef).")));

// dotnet ef builds this host to get the context and stops the app inside Build(): nothing below runs at design time,
// so no server starts and nothing connects.
var app = builder.Build();

app.MapGet("/libraries", async (HostAppContext db) => await db.Libraries.Select(l => new { l.Id, l.Name, Books = l.Books.Count }).ToListAsync());

app.Run();
