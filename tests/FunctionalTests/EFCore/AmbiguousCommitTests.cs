using Microsoft.EntityFrameworkCore.Infrastructure;

namespace EFCore.Dsql.FunctionalTests.EFCore;

/// <summary>
/// A fault-injecting proxy in front of Dsql.Local (IAM on, plain text so the proxy can read the protocol) loses the
/// server's answer to a COMMIT, or to an autocommit INSERT, after the server has applied it. With default settings,
/// such a unit is never re-run blindly: it surfaces as <see cref="DsqlCommitOutcomeUnknownException"/>, or is verified
/// when the caller gives a verifier. Failures before the COMMIT are still retried.
/// </summary>
public sealed class AmbiguousCommitTests : IAsyncLifetime
{
    private DsqlLocalServer _server = null!;
    private FaultInjectingProxy _proxy = null!;

    public async Task InitializeAsync()
    {
        _server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { NoTls = true });
        _proxy = new FaultInjectingProxy(_server.Port);
        await using var context = NewContext();
        await context.Database.EnsureCreatedAsync();
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
            await using var transaction = await context.Database.BeginTransactionAsync(ct);
            context.Accounts.AddRange(new Account { Owner = owner }, new Account { Owner = owner });
            await context.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
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
                await using var transaction = await context.Database.BeginTransactionAsync(ct);
                context.Accounts.AddRange(new Account { Owner = owner }, new Account { Owner = owner });
                await context.SaveChangesAsync(ct);
                await transaction.CommitAsync(ct);
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
            await using var transaction = await context.Database.BeginTransactionAsync(ct);
            context.Accounts.AddRange(new Account { Owner = owner }, new Account { Owner = owner });
            await context.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
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
            await using var command = new NpgsqlCommand("INSERT INTO emu_accounts (\"Id\", \"Owner\", \"Balance\") VALUES (gen_random_uuid(), $1, 0)", connection)
            {
                Parameters = { new() { Value = owner } },
            };
            await command.ExecuteNonQueryAsync(ct);
        }));

        Assert.Equal((1, 1), (attempts, _proxy.Dropped));
        Assert.Equal(1, await CountAccountsAsync(owner));
    }

    private static string NewOwner() => $"owner-{Guid.NewGuid():N}";

    // Default UseAuroraDsql settings apart from the emulator's address, region and credentials.
    private BankContext NewContext()
        => new((DbContextOptions<BankContext>)Configure(new DbContextOptionsBuilder<BankContext>()).Options);

    private DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder)
        => builder
            .UseAuroraDsql($"Host=localhost;Port={_proxy.Port};SSL Mode=Disable", o => o
                .Region(_server.Region)
                .Credentials(new BasicAWSCredentials(_server.Credential.AccessKeyId, _server.Credential.SecretAccessKey)))
            .ConfigureWarnings(TestWarnings.Configure);

    private ContextFactory Factory() => new(this);

    private async Task<long> CountAccountsAsync(string owner)
    {
        await using var connection = new NpgsqlConnection(_server.BackendConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM emu_accounts WHERE \"Owner\" = $1", connection)
        {
            Parameters = { new() { Value = owner } },
        };
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private sealed class ContextFactory(AmbiguousCommitTests tests) : IDbContextFactory<BankContext>
    {
        public BankContext CreateDbContext() => tests.NewContext();
    }
}
