#pragma warning disable EF1001 // tests reach into EFCore.Dsql internals on purpose
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EFCore.Dsql.FunctionalTests.EFCore;

/// <summary>
/// The EF Core scenarios written once and run against every target (one subclass each, below): CRUD with
/// server-generated keys, query translation, batching, and hot-row contention with the shipped retry settings (the
/// workload the contention benchmark runs too, <see cref="HotRowContention"/>).
/// </summary>
public abstract class EfScenarioTests(EfTarget target) : IAsyncLifetime
{
    public sealed class Context(DbContextOptions<Context> options) : BloggingContext(options, "scn_");

    private readonly List<string> _log = [];

    protected EfTarget Target => target;

    /// <summary>The target's test configuration, logging retries and commands (to look for savepoints).</summary>
    protected DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, Action<DsqlDbContextOptionsBuilder>? dsql = null, string applicationName = "efcore-scenarios")
        => target.Configure(builder, dsql, applicationName: applicationName)
            .LogTo(line => { lock (_log) { _log.Add(line); } }, [DsqlEventId.ExecutionStrategyRetrying, RelationalEventId.CommandExecuting]);

    protected Context NewContext() => new((DbContextOptions<Context>)Configure(new DbContextOptionsBuilder<Context>()).Options);

    /// <summary>Retry lines logged so far.</summary>
    protected List<string> Retries()
    {
        lock (_log)
        {
            return _log.Where(line => line.Contains("retryable failure", StringComparison.Ordinal)).ToList();
        }
    }

    public Task InitializeAsync() => EfTarget.RecreateTablesAsync(NewContext());

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Entities_round_trip_with_server_generated_bigint_and_uuid_keys_without_savepoints()
    {
        long blogId;
        await using (var context = NewContext())
        {
            var blog = new Blog { Name = "DSQL notes", Posts = [new Post { Title = "Hello" }, new Post { Title = "OCC" }] };
            context.Blogs.Add(blog);
            await context.SaveChangesAsync(); // three INSERTs, one batch, one REPEATABLE READ transaction
            blogId = blog.Id;
            Assert.True(blog.Id > 0);
            Assert.All(blog.Posts, p => Assert.NotEqual(Guid.Empty, p.Id));
        }

        await using (var context = NewContext())
        {
            // The posts load through the foreign key (and its index) EnsureCreated made.
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

        Assert.DoesNotContain(_log, line => line.Contains("SAVEPOINT", StringComparison.OrdinalIgnoreCase));
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

    [Theory]
    [InlineData(16, 50)]
    [InlineData(32, 25)]
    public async Task Workers_incrementing_one_hot_row_with_default_retry_settings_all_commit(int workers, int increments)
    {
        // o.EnableRetryOnFailure() restores the shipped defaults over the target's quick test settings.
        await using var services = new ServiceCollection()
            .AddPooledDbContextFactory<Context>(b => Configure(b, o => o.EnableRetryOnFailure(), $"efcore-contention-{workers}"))
            .BuildServiceProvider();
        var factory = services.GetRequiredService<IDbContextFactory<Context>>();
        var counterId = 1000 + workers;
        await HotRowContention.SeedAsync(factory, counterId);

        var result = await HotRowContention.RunAsync(factory, counterId, workers, increments);

        var final = await HotRowContention.ValueAsync(factory, counterId);
        var retries = Retries();
        var total = workers * increments;
        TestSummary.Write(
            $"efcore-contention-{target.Key}-{workers}x{increments}",
            $"efcore: {workers} workers x {increments} increments of one row on {target.Description}, default UseAuroraDsql retry settings "
                + $"(budget {DsqlRetryingExecutionStrategy.DefaultMaxRetryDuration.TotalSeconds:0} s / {DsqlRetryingExecutionStrategy.DefaultMaxRetryCount} retries, "
                + $"full jitter {DsqlRetryingExecutionStrategy.DefaultBaseDelay.TotalMilliseconds:0} ms to {DsqlRetryingExecutionStrategy.DefaultMaxDelay.TotalMilliseconds:0} ms): "
                + $"final value {final}/{total}, {result.GaveUp} gave up, {retries.Count} retries logged");
        Assert.Equal(0, result.GaveUp);
        Assert.Equal(total, final);
        Assert.NotEmpty(retries); // the run must have been contended
        Assert.All(retries, line => Assert.Contains("40001", line));
    }
}

/// <summary>The scenarios on plain PostgreSQL, and what only a PostgreSQL superuser can provoke or inspect.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresEfScenarioTests(PostgresFixture fixture) : EfScenarioTests(new PostgresTarget(fixture))
{
    private IDbContextFactory<Context> Factory(ServiceProvider services) => services.GetRequiredService<IDbContextFactory<Context>>();

    private ServiceProvider Services()
        => new ServiceCollection().AddPooledDbContextFactory<Context>(b => Configure(b, o => o.EnableRetryOnFailure())).BuildServiceProvider();

    [Fact]
    public async Task A_backend_killed_mid_transaction_is_retried_without_a_partial_or_double_commit()
    {
        await using var services = Services();
        var factory = Factory(services);
        var attempts = 0;
        var marker = $"killed-{Guid.NewGuid():N}";

        // The failure surfaces at COMMIT, so its outcome is unknown to the client: the verifier settles it (nothing applied).
        await factory.ExecuteInNewContextAsync(
            async (context, ct) =>
            {
                attempts++;
                await using var transaction = await context.Database.BeginTransactionAsync(ct);
                context.Blogs.Add(new Blog { Name = marker });
                context.Blogs.Add(new Blog { Name = marker });
                await context.SaveChangesAsync(ct);
                if (attempts == 1)
                {
                    var pid = ((NpgsqlConnection)context.Database.GetDbConnection()).ProcessID;
                    await Target.QueryAsync<bool>($"SELECT pg_terminate_backend({pid})");
                }

                await transaction.CommitAsync(ct);
                return true;
            },
            (context, ct) => context.Blogs.AnyAsync(b => b.Name == marker, ct));

        await using var check = await factory.CreateDbContextAsync();
        Assert.Equal(2, attempts);
        Assert.Equal(2, await check.Blogs.CountAsync(b => b.Name == marker));
        Assert.Contains(Retries(), line => line.Contains("retry 1 of"));
    }

    [Fact]
    public async Task Constraint_violations_are_not_retried()
    {
        await using var services = Services();
        var factory = Factory(services);
        var attempts = 0;
        await HotRowContention.SeedAsync(factory, 42);

        var ex = await Assert.ThrowsAsync<DbUpdateException>(() => factory.ExecuteInNewContextAsync(async (context, ct) =>
        {
            attempts++;
            context.Counters.Add(new Counter { Id = 42, Value = 1 });
            await context.SaveChangesAsync(ct);
        }));

        Assert.Equal("23505", Assert.IsType<PostgresException>(ex.InnerException).SqlState);
        Assert.Equal(1, attempts);
        Assert.Empty(Retries());
    }

    [Fact]
    public async Task CanConnect_reports_false_for_an_unreachable_endpoint()
    {
        await using var context = new Context(new DbContextOptionsBuilder<Context>()
            .UseAuroraDsql("Host=127.0.0.1;Port=1;SSL Mode=Disable;Timeout=2", o => o.Region("us-east-1").Credentials(PostgresTarget.TestCredentials).DisableRetryOnFailure())
            .ConfigureWarnings(TestWarnings.Configure)
            .Options);

        Assert.False(await context.Database.CanConnectAsync());
    }

    [Fact]
    public async Task EnsureDeleted_drops_only_the_model_tables()
    {
        await Target.QueryAsync<int>("CREATE TABLE IF NOT EXISTS crud_unrelated (id int); SELECT 1");
        await using var context = new DropContext(Target.Options<DropContext>());
        await context.Database.EnsureCreatedAsync();

        Assert.True(await context.Database.EnsureDeletedAsync());

        Assert.Equal(0L, await Target.QueryAsync<long>("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'drop\\_%'"));
        Assert.Equal(1L, await Target.QueryAsync<long>("SELECT count(*) FROM information_schema.tables WHERE table_name = 'crud_unrelated'"));
        Assert.True(await context.Database.EnsureCreatedAsync());
    }

    [Fact]
    public void Creating_the_database_is_refused_with_a_pointer_to_EnsureCreated_and_migrations()
    {
        using var context = NewContext();
        var creator = (IRelationalDatabaseCreator)context.GetService<IDatabaseCreator>();

        var ex = Assert.Throws<NotSupportedException>(creator.Create);
        Assert.Contains("EnsureCreated", ex.Message);
        Assert.Contains("Migrate", ex.Message);
    }

    public sealed class DropContext(DbContextOptions<DropContext> options) : BloggingContext(options, "drop_");
}

/// <summary>The scenarios on Dsql.Local: every connection presents a SigV4 token the emulator verifies, over TLS.</summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlLocalEfScenarioTests(DsqlLocalFixture fixture) : EfScenarioTests(new DsqlLocalTarget(fixture));
