using Microsoft.EntityFrameworkCore.Infrastructure;

namespace EFCore.Dsql.FunctionalTests.EFCore;

/// <summary>
/// A fault-injecting proxy in front of Dsql.Local (IAM on, plain text so the proxy can read the protocol) loses the
/// server's answer to a COMMIT, or to an autocommit INSERT, after the server has applied it. With default settings,
/// such a unit is never re-run blindly: it surfaces as <see cref="DsqlCommitOutcomeUnknownException"/>, or is verified
/// when the caller gives a verifier. With commit markers (<c>VerifyCommitsWithMarker</c>,
/// <see cref="DsqlRetryOptions.CommitMarker"/>) such a unit is verified instead: it succeeds, applied once, never re-run;
/// a COMMIT that never reached the server is found missing and the unit is retried (applied once). Failures before the
/// COMMIT are still retried.
/// </summary>
public sealed class AmbiguousCommitTests : IAsyncLifetime
{
    private const string InsertAccountSql = "INSERT INTO emu_accounts (\"Id\", \"Owner\", \"Balance\") VALUES (gen_random_uuid(), $1, 0)";

    private static readonly DsqlCommitMarkerOptions Marker = new() { Table = "emu_commit_markers" };

    private DsqlLocalServer _server = null!;
    private FaultInjectingProxy _proxy = null!;

    public async Task InitializeAsync()
    {
        _server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { NoTls = true });
        _proxy = new FaultInjectingProxy(_server.Port);

        // With markers on, EnsureCreated's DDL transactions get no marker (DSQL would refuse DML next to DDL); the first
        // transaction creates the marker table.
        await using var context = NewContext(withMarker: true);
        await context.Database.EnsureCreatedAsync();
        await using var transaction = await context.Database.BeginTransactionAsync();
        await transaction.CommitAsync();
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task An_autocommit_SaveChanges_whose_answer_is_lost_is_surfaced_not_applied_twice()
    {
        var owner = NewOwner();
        await using var context = NewContext();
        context.Accounts.Add(new Account { Owner = owner, Balance = 1 });
        _proxy.DropAnswerTo((type, text) => type == 'P' && text.StartsWith("INSERT INTO emu_accounts", StringComparison.Ordinal));

        var ex = await Assert.ThrowsAsync<DsqlCommitOutcomeUnknownException>(() => context.SaveChangesAsync());

        Assert.Equal(1, _proxy.Dropped);
        Assert.Contains("may or may not have been applied", ex.Message);
        Assert.Equal(1, await CountAccountsAsync(owner));
    }

    [Fact]
    public async Task The_strategy_and_BeginTransaction_pattern_never_reruns_a_unit_whose_COMMIT_answer_was_lost()
    {
        var owner = NewOwner();
        var attempts = 0;
        _proxy.DropAnswerTo(FaultInjectingProxy.IsCommit);

        await Assert.ThrowsAsync<DsqlCommitOutcomeUnknownException>(() => Factory().ExecuteInNewContextAsync(async (context, ct) =>
        {
            attempts++;
            await AddTwoAccountsInATransactionAsync(context, owner, ct);
        }));

        Assert.Equal((1, 1), (attempts, _proxy.Dropped));
        Assert.Equal(2, await CountAccountsAsync(owner));
    }

    [Fact]
    public async Task A_verifier_resolves_a_lost_COMMIT_answer_and_the_unit_is_applied_exactly_once()
    {
        var owner = NewOwner();
        var attempts = 0;
        _proxy.DropAnswerTo(FaultInjectingProxy.IsCommit);

        // A verified unit returns default: the value its lost attempt computed is gone with the answer.
        var result = await Factory().ExecuteInNewContextAsync(
            async (context, ct) =>
            {
                attempts++;
                await AddTwoAccountsInATransactionAsync(context, owner, ct);
                return "inserted";
            },
            async (context, ct) => await context.Accounts.CountAsync(a => a.Owner == owner, ct) == 2);

        Assert.Equal(((string?)null, 1, 1), (result, attempts, _proxy.Dropped));
        Assert.Equal(2, await CountAccountsAsync(owner));
    }

    [Fact]
    public async Task A_connection_lost_before_the_COMMIT_is_retried_and_the_unit_is_applied_once()
    {
        var owner = NewOwner();
        var attempts = 0;

        // The answer to the INSERT inside the transaction is lost: the server never saw a COMMIT, nothing was applied.
        _proxy.DropAnswerTo((type, text) => type == 'P' && text.Contains("INSERT INTO emu_accounts", StringComparison.Ordinal));
        await Factory().ExecuteInNewContextAsync(async (context, ct) =>
        {
            attempts++;
            await AddTwoAccountsInATransactionAsync(context, owner, ct);
        });

        Assert.Equal((2, 1), (attempts, _proxy.Dropped));
        Assert.Equal(2, await CountAccountsAsync(owner));
    }

    [Fact]
    public async Task DsqlRetry_surfaces_a_lost_COMMIT_answer_instead_of_running_the_unit_again()
    {
        var owner = NewOwner();
        var attempts = 0;
        await using var dataSource = _server.CreateDataSource(configure: b => b.ConnectionStringBuilder.Port = _proxy.Port);
        _proxy.DropAnswerTo(FaultInjectingProxy.IsCommit);

        await Assert.ThrowsAsync<DsqlCommitOutcomeUnknownException>(() => DsqlRetry.ExecuteAsync(dataSource, async (connection, ct) =>
        {
            attempts++;
            await InsertAccountAsync(connection, owner, attempts, ct);
        }));

        Assert.Equal((1, 1), (attempts, _proxy.Dropped));
        Assert.Equal(1, await CountAccountsAsync(owner));
    }

    [Fact]
    public async Task A_one_statement_SaveChanges_whose_COMMIT_answer_is_lost_succeeds_and_is_applied_once()
    {
        var owner = NewOwner();
        await using var context = NewContext(withMarker: true);
        var account = new Account { Owner = owner, Balance = 1 };
        context.Accounts.Add(account);
        _proxy.DropAnswerTo(FaultInjectingProxy.IsCommit);

        var written = await context.SaveChangesAsync();

        Assert.Equal((1, 1), (written, _proxy.Dropped));
        Assert.Equal(EntityState.Unchanged, context.Entry(account).State);
        Assert.Equal(1, await CountAccountsAsync(owner));
        Assert.Equal(AutoTransactionBehavior.WhenNeeded, context.Database.AutoTransactionBehavior);
    }

    [Fact]
    public async Task A_BeginTransaction_unit_whose_COMMIT_answer_is_lost_is_verified_and_returns_its_result_without_a_rerun()
    {
        var owner = NewOwner();
        var attempts = 0;
        _proxy.DropAnswerTo(FaultInjectingProxy.IsCommit);

        var result = await Factory(withMarker: true).ExecuteInNewContextAsync(async (context, ct) =>
        {
            attempts++;
            await AddTwoAccountsInATransactionAsync(context, owner, ct);
            return "inserted";
        });

        Assert.Equal(("inserted", 1, 1), (result, attempts, _proxy.Dropped));
        Assert.Equal(2, await CountAccountsAsync(owner));
    }

    [Fact]
    public async Task A_COMMIT_that_never_reached_the_server_is_found_missing_and_the_unit_is_retried_once()
    {
        var owner = NewOwner();
        var attempts = 0;
        _proxy.DropBeforeServerSees(FaultInjectingProxy.IsCommit);

        await Factory(withMarker: true).ExecuteInNewContextAsync(async (context, ct) =>
        {
            attempts++;
            await AddTwoAccountsInATransactionAsync(context, owner, ct);
        });

        Assert.Equal((2, 1), (attempts, _proxy.Dropped));
        Assert.Equal(2, await CountAccountsAsync(owner));
    }

    [Fact]
    public async Task A_read_only_transaction_writes_no_marker_and_a_writing_one_writes_exactly_one()
    {
        var before = await CountMarkersAsync();
        await Factory(withMarker: true).ExecuteInNewContextAsync(async (context, ct) =>
        {
            await using var transaction = await context.Database.BeginTransactionAsync(ct);
            _ = await context.Accounts.CountAsync(ct);
            await transaction.CommitAsync(ct);
        });

        var afterRead = await CountMarkersAsync();
        await using (var context = NewContext(withMarker: true))
        {
            context.Accounts.Add(new Account { Owner = NewOwner() });
            await context.SaveChangesAsync();
        }

        Assert.Equal((before, before + 1), (afterRead, await CountMarkersAsync()));
    }

    [Fact]
    public async Task DsqlRetry_with_a_commit_marker_returns_the_result_of_a_unit_whose_COMMIT_answer_was_lost_without_rerunning_it()
    {
        var owner = NewOwner();
        var attempts = 0;
        await using var dataSource = _server.CreateDataSource(configure: b => b.ConnectionStringBuilder.Port = _proxy.Port);
        _proxy.DropAnswerTo(FaultInjectingProxy.IsCommit);

        var result = await DsqlRetry.ExecuteAsync(dataSource, (connection, ct) => InsertAccountAsync(connection, owner, ++attempts, ct), MarkerRetry());

        Assert.Equal((1, 1, 1), (result, attempts, _proxy.Dropped));
        Assert.Equal(1, await CountAccountsAsync(owner));
    }

    [Fact]
    public async Task DsqlRetry_with_a_commit_marker_retries_a_blocking_unit_whose_COMMIT_never_reached_the_server_and_applies_it_once()
    {
        var owner = NewOwner();
        var attempts = 0;
        await using var dataSource = _server.CreateDataSource(configure: b => b.ConnectionStringBuilder.Port = _proxy.Port);
        _proxy.DropBeforeServerSees(FaultInjectingProxy.IsCommit);

        var result = DsqlRetry.Execute(
            dataSource,
            connection =>
            {
                using var command = new NpgsqlCommand(InsertAccountSql, connection)
                {
                    Parameters = { new() { Value = owner } },
                };
                command.ExecuteNonQuery();
                return ++attempts;
            },
            MarkerRetry());

        Assert.Equal((2, 2, 1), (result, attempts, _proxy.Dropped));
        Assert.Equal(1, await CountAccountsAsync(owner));
    }

    [Fact]
    public async Task Expired_markers_are_deleted_in_batches_below_the_row_limit_and_recent_ones_are_kept()
    {
        await using (var context = NewContext(withMarker: true))
        {
            context.Accounts.Add(new Account { Owner = NewOwner() });
            await context.SaveChangesAsync(); // creates the table if no other test did, and one recent marker
        }

        // 2,500 markers two days old, written on the backend: more than one 1,000-row batch, fewer than DSQL's 3,000.
        await using (var backend = new NpgsqlConnection(_server.BackendConnectionString))
        {
            await backend.OpenAsync();
            await using var insert = new NpgsqlCommand(
                "INSERT INTO emu_commit_markers (id, created_at) SELECT gen_random_uuid(), now() - interval '2 days' FROM generate_series(1, 2500)", backend);
            await insert.ExecuteNonQueryAsync();
        }

        var recent = await CountMarkersAsync() - 2500;
        await using var dataSource = _server.CreateDataSource(configure: b => b.ConnectionStringBuilder.Port = _server.Port);
        await using var connection = dataSource.CreateConnection();

        var deleted = await DsqlCommitMarkers.DeleteExpiredAsync(connection, Marker);

        Assert.Equal((2500L, recent), (deleted, await CountMarkersAsync()));
    }

    private static DsqlRetryOptions MarkerRetry() => new() { CommitMarker = Marker, BaseDelay = TimeSpan.FromMilliseconds(5), MaxDelay = TimeSpan.FromMilliseconds(50) };

    private static async Task<int> InsertAccountAsync(NpgsqlConnection connection, string owner, int attempt, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(InsertAccountSql, connection) { Parameters = { new() { Value = owner } } };
        await command.ExecuteNonQueryAsync(ct);
        return attempt;
    }

    // The unit most tests run: BeginTransaction, two inserts in one SaveChanges, Commit.
    private static async Task AddTwoAccountsInATransactionAsync(BankContext context, string owner, CancellationToken ct)
    {
        await using var transaction = await context.Database.BeginTransactionAsync(ct);
        context.Accounts.AddRange(new Account { Owner = owner }, new Account { Owner = owner });
        await context.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
    }

    private static string NewOwner() => $"owner-{Guid.NewGuid():N}";

    // Default UseAuroraDsql settings apart from the emulator's address, region and credentials (and short delays and
    // commit markers when asked).
    private BankContext NewContext(bool withMarker = false)
        => new(new DbContextOptionsBuilder<BankContext>()
            .UseAuroraDsql($"Host=localhost;Port={_proxy.Port};SSL Mode=Disable", o =>
            {
                o.Region(_server.Region)
                    .Credentials(new BasicAWSCredentials(_server.Credential.AccessKeyId, _server.Credential.SecretAccessKey));
                if (withMarker)
                {
                    o.EnableRetryOnFailure(new DsqlRetryOptions { BaseDelay = TimeSpan.FromMilliseconds(5), MaxDelay = TimeSpan.FromMilliseconds(50) })
                        .VerifyCommitsWithMarker(Marker);
                }
            })
            .ConfigureWarnings(TestWarnings.Configure)
            .Options);

    private ContextFactory Factory(bool withMarker = false) => new(() => NewContext(withMarker));

    private Task<long> CountAccountsAsync(string owner) => CountAsync("SELECT count(*) FROM emu_accounts WHERE \"Owner\" = $1", owner);

    private Task<long> CountMarkersAsync() => CountAsync("SELECT count(*) FROM emu_commit_markers", null);

    private async Task<long> CountAsync(string sql, string? owner)
    {
        await using var connection = new NpgsqlConnection(_server.BackendConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        if (owner is not null)
        {
            command.Parameters.Add(new() { Value = owner });
        }

        return (long)(await command.ExecuteScalarAsync())!;
    }

    private sealed class ContextFactory(Func<BankContext> create) : IDbContextFactory<BankContext>
    {
        public BankContext CreateDbContext() => create();
    }
}
