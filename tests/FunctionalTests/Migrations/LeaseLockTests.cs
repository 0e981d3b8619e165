#pragma warning disable EF1001 // The tests exercise the internal migration services directly.

using Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace EFCore.Dsql.FunctionalTests.Migrations;

/// <summary>The lease-row migration lock on plain PostgreSQL: it needs nothing DSQL lacks (no LOCK TABLE, no advisory locks).</summary>
[Collection(PostgresCollection.Name)]
public sealed class LeaseLockTests(PostgresFixture fixture) : IDisposable
{
    private static readonly DsqlMigrationsOptions ShortLease = new()
    {
        LockLease = TimeSpan.FromSeconds(1), LockRetryMaxDelay = TimeSpan.FromMilliseconds(100)
    };

    private readonly string _schema = "lease_" + Guid.NewGuid().ToString("N")[..8];
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(fixture.Instance.ConnectionString);

    public void Dispose() => _dataSource.Dispose();

    [Fact]
    public async Task Second_migrator_waits_until_the_first_releases_the_lease()
    {
        await using var first = CreateContext(DsqlMigrationsOptions.Default with { LockRetryMaxDelay = TimeSpan.FromMilliseconds(100) });
        await using var second = CreateContext(DsqlMigrationsOptions.Default with { LockRetryMaxDelay = TimeSpan.FromMilliseconds(100) });
        var firstLease = await first.GetService<IHistoryRepository>().AcquireDatabaseLockAsync();

        var secondAcquisition = second.GetService<IHistoryRepository>().AcquireDatabaseLockAsync();
        await Task.Delay(500);
        Assert.False(secondAcquisition.IsCompleted);

        await firstLease.DisposeAsync();
        await using var secondLease = await secondAcquisition.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotSame(firstLease, secondLease);
    }

    [Fact]
    public async Task Expired_lease_of_a_vanished_holder_is_taken_over_with_its_progress()
    {
        await using var first = CreateContext(ShortLease);
        await (await first.GetService<IHistoryRepository>().AcquireDatabaseLockAsync()).DisposeAsync();
        // A killed process renews nothing and releases nothing: its row stays, with its progress, until it expires.
        await ExecuteAsync($"""UPDATE {_schema}."__EFMigrationsLock" SET "Holder" = 'killed', "ExpiresAt" = now() + interval '1 second', "MigrationId" = '20260101_M', "Step" = 3""");
        await using var next = CreateContext(ShortLease);

        var takenOver = (DsqlMigrationLease)await next.GetService<IHistoryRepository>().AcquireDatabaseLockAsync()
            .WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(3, takenOver.TakeResumeStep("20260101_M"));
        Assert.Null(takenOver.TakeResumeStep("20260101_M"));
        await takenOver.DisposeAsync();
    }

    [Fact]
    public async Task Lease_is_renewed_in_the_background_while_its_holder_is_busy()
    {
        await using var holderContext = CreateContext(ShortLease);
        await using var waiterContext = CreateContext(ShortLease);
        var holder = (DsqlMigrationLease)await holderContext.GetService<IHistoryRepository>().AcquireDatabaseLockAsync();

        // Three leases long without a statement from the holder (as during a long index build): nobody takes it over.
        var waiter = waiterContext.GetService<IHistoryRepository>().AcquireDatabaseLockAsync();
        await Task.Delay(ShortLease.LockLease * 3);
        Assert.False(waiter.IsCompleted);
        Assert.False(holder.IsLost);
        await holder.EnsureHeldAsync(inTransaction: false, CancellationToken.None);

        await holder.DisposeAsync();
        await (await waiter.WaitAsync(TimeSpan.FromSeconds(30))).DisposeAsync();
    }

    [Fact]
    public async Task Holder_whose_lease_was_taken_over_refuses_its_next_statement()
    {
        await using var context = CreateContext(ShortLease);
        var holder = (DsqlMigrationLease)await context.GetService<IHistoryRepository>().AcquireDatabaseLockAsync();

        await ExecuteAsync($"""UPDATE {_schema}."__EFMigrationsLock" SET "Holder" = 'other', "ExpiresAt" = now() + interval '1 hour'""");
        await Task.Delay(ShortLease.LockLease * 0.75);

        var lost = await Assert.ThrowsAsync<InvalidOperationException>(() => holder.EnsureHeldAsync(inTransaction: false, CancellationToken.None));
        Assert.Contains("lost the Aurora DSQL migration lock", lost.Message);
        Assert.True(holder.IsLost);
        await Assert.ThrowsAsync<InvalidOperationException>(() => holder.RecordProgressAsync("20260101_M", 4, CancellationToken.None));
        await holder.DisposeAsync();
        Assert.Equal("other", await BackendSql.ScalarAsync<string>(fixture.Instance.ConnectionString, $"""SELECT "Holder" FROM {_schema}."__EFMigrationsLock" """));
    }

    [Fact]
    public async Task Concurrent_acquirers_hold_the_lease_one_at_a_time()
    {
        var options = DsqlMigrationsOptions.Default with { LockRetryMaxDelay = TimeSpan.FromMilliseconds(50) };
        var holders = 0;
        var maxHolders = 0;

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            await using var context = CreateContext(options);
            await using var lease = await context.GetService<IHistoryRepository>().AcquireDatabaseLockAsync();
            var now = Interlocked.Increment(ref holders);
            InterlockedMax(ref maxHolders, now);
            await Task.Delay(100);
            Interlocked.Decrement(ref holders);
        })));

        Assert.Equal(1, maxHolders);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = _dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync();
    }

    private DbContext CreateContext(DsqlMigrationsOptions options)
        => new(new DbContextOptionsBuilder()
            .UseAuroraDsqlForTests(_dataSource, _schema)
            .UseMigrationsOptions(options)
            .Options);
}
