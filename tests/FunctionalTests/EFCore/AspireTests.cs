using Amazon.Extensions.NETCore.Setup;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace EFCore.Dsql.FunctionalTests.EFCore;

public sealed class AspireOrder
{
    public Guid Id { get; set; }
    public string Item { get; set; } = "";
}

/// <summary>The context the Aspire recipe of docs/efcore.md registers.</summary>
public sealed class AspireShopContext(DbContextOptions<AspireShopContext> options) : DbContext(options)
{
    public DbSet<AspireOrder> Orders => Set<AspireOrder>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.Entity<AspireOrder>().ToTable("aspire_orders");
}

/// <summary>
/// The real Aspire client integration (Aspire.Npgsql.EntityFrameworkCore.PostgreSQL) on a <see cref="HostApplicationBuilder"/>,
/// against Dsql.Local with IAM and TLS: the context is registered with <c>UseAuroraDsql</c> and enriched with
/// <c>EnrichNpgsqlDbContext</c>, as the Aspire section of docs/efcore.md says. The connection string comes from
/// <c>ConnectionStrings:shop</c> (what an Aspire app host injects) and the emulator's credentials from an
/// <see cref="AWSOptions"/> in the application's services (an application registers
/// <c>builder.Configuration.GetAWSOptions()</c>, or relies on the default AWS credential chain).
/// </summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class AspireTests(DsqlLocalFixture fixture) : IAsyncLifetime
{
    private readonly DsqlLocalTarget _target = new(fixture);

    public Task InitializeAsync() => EfTarget.RecreateTablesAsync(new AspireShopContext(_target.Options<AspireShopContext>(applicationName: "efcore-aspire")));

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task EnrichNpgsqlDbContext_with_Aspires_default_settings_is_refused_when_the_first_context_is_made_with_a_message_naming_DisableRetry()
    {
        using var host = BuildHost(builder => builder.EnrichNpgsqlDbContext<AspireShopContext>());

        // Refused where EF validates the options: when the pool makes its first context, before any statement runs.
        var scope = host.Services.CreateAsyncScope();
        var ex = Assert.Throws<InvalidOperationException>(() => scope.ServiceProvider.GetRequiredService<AspireShopContext>());
        Assert.Contains("NpgsqlRetryingExecutionStrategy replaced DsqlRetryingExecutionStrategy", ex.Message);
        Assert.Contains("EnrichNpgsqlDbContext<TContext>(settings => settings.DisableRetry = true)", ex.Message);

        // No context was leased, so the scope ends cleanly. Aspire's health check cannot be built without the context: it
        // fails with the same message (not with a later, vaguer error).
        await scope.DisposeAsync();
        var onHealthCheck = await Assert.ThrowsAsync<InvalidOperationException>(() => host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync());
        Assert.Equal(ex.Message, onHealthCheck.Message);
    }

    [Fact]
    public async Task EnrichNpgsqlDbContext_with_DisableRetry_keeps_the_DSQL_strategy_and_saves_reads_and_passes_Aspires_health_check()
    {
        using var host = BuildHost(builder => builder.EnrichNpgsqlDbContext<AspireShopContext>(settings => settings.DisableRetry = true));

        var id = Guid.NewGuid();
        await using (var scope = host.Services.CreateAsyncScope())
        {
            var context = scope.ServiceProvider.GetRequiredService<AspireShopContext>();
            Assert.IsType<DsqlRetryingExecutionStrategy>(context.Database.CreateExecutionStrategy());
            context.Orders.Add(new AspireOrder { Id = id, Item = "saved through Aspire" });
            await context.SaveChangesAsync();
        }

        await using (var scope = host.Services.CreateAsyncScope())
        {
            var context = scope.ServiceProvider.GetRequiredService<AspireShopContext>();
            Assert.Equal("saved through Aspire", (await context.Orders.SingleAsync(o => o.Id == id)).Item);
        }

        // The health check EnrichNpgsqlDbContext adds (CanConnect) signs in with an IAM token like the context.
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, report.Entries[nameof(AspireShopContext)].Status);
    }

    /// <summary>A host with the context registered as the recipe does, then <paramref name="enrich"/> (the Aspire call).</summary>
    private IHost BuildHost(Action<HostApplicationBuilder> enrich)
    {
        // No appsettings, environment or console logging: only what the test sets.
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        // What an app host injects; the emulator's host name (localhost) names no region, so the string carries it.
        builder.Configuration["ConnectionStrings:shop"] =
            _target.ConnectionString(maxPoolSize: 10, applicationName: "efcore-aspire") + $";Region={_target.Region}";
        builder.Services.AddDefaultAWSOptions(new AWSOptions { Credentials = _target.Credentials });

        // The recipe of docs/efcore.md (## Aspire), plus the test assembly's warning settings.
        builder.Services.AddDbContextPool<AspireShopContext>(options =>
            options.UseAuroraDsql(builder.Configuration.GetConnectionString("shop")!, o => o
                    .EnableRetryOnFailure(new DsqlRetryOptions { MaxRetryDuration = TimeSpan.FromSeconds(30) }))
                .ConfigureWarnings(TestWarnings.Configure));

        enrich(builder);
        return builder.Build();
    }
}
