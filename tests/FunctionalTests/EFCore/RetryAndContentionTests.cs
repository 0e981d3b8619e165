#pragma warning disable EF1001 // tests reach into EFCore.Dsql internals on purpose
using EFCore.Dsql.FunctionalTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace EFCore.Dsql.FunctionalTests.EFCore;

[Collection(PostgresCollection.Name)]
public sealed class RetryAndContentionTests(PostgresFixture fixture) : IAsyncLifetime
{
    public sealed class Context(DbContextOptions<Context> options) : BloggingContext(options, "retry_");

    private readonly PostgresTarget _target = new(fixture);
    private readonly List<string> _retries = [];

    // The default retry settings (EnableRetryOnFailure() resets the target's test settings to them): users keep defaults.
    private ServiceProvider Services(int maxPoolSize = 20)
        => new ServiceCollection()
            .AddPooledDbContextFactory<Context>(b => _target.Configure(b, o => o.EnableRetryOnFailure(), maxPoolSize)
                .LogTo(line => { lock (_retries) { _retries.Add(line); } }, [DsqlEventId.ExecutionStrategyRetrying]))
            .BuildServiceProvider();

    public async Task InitializeAsync()
    {
        await using var services = Services();
        await using var context = await services.GetRequiredService<IDbContextFactory<Context>>().CreateDbContextAsync();
        await context.Database.EnsureDeletedAsync();
        await context.Database.EnsureCreatedAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Sixteen_workers_incrementing_one_hot_row_fifty_times_each_with_default_retry_settings_end_at_exactly_800()
    {
        await using var services = Services();
        var factory = services.GetRequiredService<IDbContextFactory<Context>>();
        await using (var seed = await factory.CreateDbContextAsync())
        {
            seed.Counters.Add(new Counter { Id = 1, Value = 0 });
            await seed.SaveChangesAsync();
        }

        var workers = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await factory.ExecuteInNewContextAsync(async (context, ct) =>
                {
                    await using var transaction = await context.Database.BeginTransactionAsync(ct);
                    var counter = await context.Counters.SingleAsync(c => c.Id == 1, ct);
                    counter.Value++;
                    await context.SaveChangesAsync(ct);
                    await transaction.CommitAsync(ct);
                });
            }
        }));
        await Task.WhenAll(workers);

        await using var check = await factory.CreateDbContextAsync();
        Assert.Equal(800, (await check.Counters.SingleAsync(c => c.Id == 1)).Value);
        Assert.NotEmpty(_retries);
        Assert.All(_retries, line => Assert.Contains("40001", line));
    }

    [Fact]
    public async Task A_backend_killed_mid_transaction_is_retried_without_a_partial_or_double_commit()
    {
        await using var services = Services();
        var factory = services.GetRequiredService<IDbContextFactory<Context>>();
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
                    await _target.QueryAsync<bool>($"SELECT pg_terminate_backend({pid})");
                }

                await transaction.CommitAsync(ct);
                return true;
            },
            (context, ct) => context.Blogs.AnyAsync(b => b.Name == marker, ct));

        await using var check = await factory.CreateDbContextAsync();
        Assert.Equal(2, attempts);
        Assert.Equal(2, await check.Blogs.CountAsync(b => b.Name == marker));
        Assert.Contains(_retries, line => line.Contains("retry 1 of"));
    }

    [Fact]
    public async Task Constraint_violations_are_not_retried()
    {
        await using var services = Services();
        var factory = services.GetRequiredService<IDbContextFactory<Context>>();
        var attempts = 0;
        await using (var seed = await factory.CreateDbContextAsync())
        {
            seed.Counters.Add(new Counter { Id = 42, Value = 0 });
            await seed.SaveChangesAsync();
        }

        var ex = await Assert.ThrowsAsync<DbUpdateException>(() => factory.ExecuteInNewContextAsync(async (context, ct) =>
        {
            attempts++;
            context.Counters.Add(new Counter { Id = 42, Value = 1 });
            await context.SaveChangesAsync(ct);
        }));

        Assert.Equal("23505", Assert.IsType<PostgresException>(ex.InnerException).SqlState);
        Assert.Equal(1, attempts);
        Assert.Empty(_retries);
    }
}
