#pragma warning disable EF1001 // tests reach into EFCore.Dsql internals on purpose
using System.Data;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace EFCore.Dsql.FunctionalTests.EFCore;

[Collection(PostgresCollection.Name)]
public sealed class TransactionBehaviourTests(PostgresFixture fixture) : IAsyncLifetime
{
    private sealed class Context(DbContextOptions options) : BloggingContext(options, "tx_");

    private readonly PostgresTarget _target = new(fixture);
    private readonly List<string> _log = [];

    private Context NewContext(Action<DsqlDbContextOptionsBuilder>? dsql = null)
        => new(_target.Configure(new DbContextOptionsBuilder(), dsql)
            .LogTo(_log.Add, [RelationalEventId.CommandExecuting, RelationalEventId.CreatingTransactionSavepoint, RelationalEventId.TransactionStarted])
            .Options);

    public Task InitializeAsync() => EfTarget.RecreateTablesAsync(NewContext());

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task BeginTransaction_without_a_level_runs_at_repeatable_read()
    {
        await using var context = NewContext(o => o.DisableRetryOnFailure());
        await using var transaction = await context.Database.BeginTransactionAsync();

        var level = await context.Database.SqlQueryRaw<string>("SELECT current_setting('transaction_isolation') AS \"Value\"").SingleAsync();

        Assert.Equal("repeatable read", level);
        Assert.Equal(IsolationLevel.RepeatableRead, transaction.GetDbTransaction().IsolationLevel);
    }

    [Fact]
    public async Task SaveChanges_own_transaction_runs_at_repeatable_read()
    {
        var levels = new List<string>();
        await using var context = new Context(_target.Configure(new DbContextOptionsBuilder())
            .AddInterceptors(new IsolationProbe(levels)).Options);

        context.Blogs.AddRange(new Blog { Name = "a" }, new Blog { Name = "b" });
        context.Counters.Add(new Counter { Id = Random.Shared.NextInt64(1_000_000, long.MaxValue), Value = 1 });
        await context.SaveChangesAsync();

        Assert.NotEmpty(levels);
        Assert.All(levels, level => Assert.Equal("repeatable read", level));
    }

    [Fact]
    public async Task SaveChanges_inside_a_user_transaction_sends_no_savepoint()
    {
        await using var context = NewContext(o => o.DisableRetryOnFailure());
        await using (var transaction = await context.Database.BeginTransactionAsync())
        {
            context.Blogs.AddRange(new Blog { Name = "sp 1" }, new Blog { Name = "sp 2" });
            await context.SaveChangesAsync();
            context.Blogs.AddRange(new Blog { Name = "sp 3" }, new Blog { Name = "sp 4" });
            await context.SaveChangesAsync();
            await transaction.CommitAsync();
        }

        Assert.DoesNotContain(_log, line => line.Contains("SAVEPOINT", StringComparison.OrdinalIgnoreCase) || line.Contains("savepoint", StringComparison.Ordinal));
        Assert.Equal(4, await context.Blogs.CountAsync(b => b.Name.StartsWith("sp ")));
    }

    [Fact]
    public async Task Explicit_savepoints_are_refused_before_anything_is_sent()
    {
        await using var context = NewContext(o => o.DisableRetryOnFailure());
        await using var transaction = await context.Database.BeginTransactionAsync();

        var ex = await Assert.ThrowsAsync<NotSupportedException>(() => transaction.CreateSavepointAsync("before_import"));

        Assert.Contains("savepoints", ex.Message);
        Assert.False(transaction.SupportsSavepoints);
        Assert.Equal(1, await context.Database.SqlQueryRaw<int>("SELECT 1 AS \"Value\"").SingleAsync()); // transaction still usable
    }

    [Theory]
    [InlineData(IsolationLevel.ReadCommitted)]
    [InlineData(IsolationLevel.Serializable)]
    public async Task Isolation_levels_DSQL_cannot_give_are_refused_not_downgraded(IsolationLevel level)
    {
        await using var context = NewContext(o => o.DisableRetryOnFailure());

        var ex = await Assert.ThrowsAsync<NotSupportedException>(() => context.Database.BeginTransactionAsync(level));

        Assert.Contains(level.ToString(), ex.Message);
        Assert.Null(context.Database.CurrentTransaction);
    }

    [Fact]
    public async Task A_user_transaction_outside_the_strategy_is_refused_with_EFs_guidance()
    {
        await using var context = NewContext();
        await using var transaction = await context.Database.BeginTransactionAsync();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            context.Database.CreateExecutionStrategy().ExecuteAsync(() => Task.CompletedTask));

        Assert.Contains("CreateExecutionStrategy", ex.Message);
    }

    [Fact]
    public async Task A_transaction_wrapped_by_the_strategy_commits()
    {
        await using var context = NewContext();
        var strategy = context.Database.CreateExecutionStrategy();

        await strategy.ExecuteAsync(async () =>
        {
            await using var transaction = await context.Database.BeginTransactionAsync();
            context.Blogs.Add(new Blog { Name = "wrapped" });
            await context.SaveChangesAsync();
            await transaction.CommitAsync();
        });

        Assert.True(await context.Blogs.AnyAsync(b => b.Name == "wrapped"));
    }

    private sealed class IsolationProbe(List<string> levels) : DbCommandInterceptor
    {
        public override async ValueTask<InterceptionResult<System.Data.Common.DbDataReader>> ReaderExecutingAsync(
            System.Data.Common.DbCommand command, CommandEventData eventData, InterceptionResult<System.Data.Common.DbDataReader> result,
            CancellationToken cancellationToken = default)
        {
            if (command.Transaction is not null)
            {
                await using var probe = command.Connection!.CreateCommand();
                probe.Transaction = command.Transaction;
                probe.CommandText = "SELECT current_setting('transaction_isolation')";
                levels.Add((string)(await probe.ExecuteScalarAsync(cancellationToken))!);
            }

            return result;
        }
    }
}
