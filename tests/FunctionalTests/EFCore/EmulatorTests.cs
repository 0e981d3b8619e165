#pragma warning disable EF1001 // tests reach into EFCore.Dsql internals on purpose
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

namespace EFCore.Dsql.FunctionalTests.EFCore;

public sealed class Account
{
    public Guid Id { get; set; }
    public string Owner { get; set; } = "";
    public long Balance { get; set; }
}

public sealed class Ledger
{
    public long Id { get; set; }
    public string Note { get; set; } = "";
}

/// <summary>Accounts (an index on the owner, created with CREATE INDEX ASYNC) and a ledger.</summary>
public sealed class BankContext(DbContextOptions<BankContext> options) : DbContext(options)
{
    public DbSet<Account> Accounts => Set<Account>();
    public DbSet<Ledger> Ledger => Set<Ledger>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Account>(b =>
        {
            b.ToTable("emu_accounts");
            b.HasIndex(a => a.Owner);
        });
        modelBuilder.Entity<Ledger>().ToTable("emu_ledger");
    }
}

/// <summary>
/// EF Core against Dsql.Local with IAM authentication on: every connection presents a SigV4 token the emulator verifies,
/// and the emulator enforces DSQL's transaction and DDL rules. CRUD, queries and hot-row contention run here and on
/// PostgreSQL from one class, <see cref="EfScenarioTests"/>.
/// </summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class EmulatorTests(DsqlLocalFixture fixture) : IAsyncLifetime
{
    private readonly List<string> _log = [];
    private readonly DsqlLocalTarget _target = new(fixture);

    private DbContextOptionsBuilder Configure(DbContextOptionsBuilder builder, AWSCredentials? credentials = null, string applicationName = "efcore-emulator")
        => _target.Configure(builder, o => o.Credentials(credentials ?? _target.Credentials), applicationName: applicationName)
            .LogTo(line => { lock (_log) { _log.Add(line); } }, [DsqlEventId.ExecutionStrategyRetrying, RelationalEventId.CommandExecuting]);

    private BankContext NewContext(AWSCredentials? credentials = null, string applicationName = "efcore-emulator")
        => new((DbContextOptions<BankContext>)Configure(new DbContextOptionsBuilder<BankContext>(), credentials, applicationName).Options);

    public Task InitializeAsync() => EfTarget.RecreateTablesAsync(NewContext());

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task BeginTransaction_without_a_level_is_accepted_by_the_emulators_DSQL_rules()
    {
        // Dsql.Local refuses BEGIN ... READ COMMITTED exactly like DSQL, which is what Npgsql would send by default.
        await using var context = NewContext();
        await context.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await using var transaction = await context.Database.BeginTransactionAsync();
            context.Ledger.AddRange(new Ledger { Note = "in a transaction" }, new Ledger { Note = "in a transaction" });
            await context.SaveChangesAsync();
            context.Ledger.AddRange(new Ledger { Note = "in a transaction" }, new Ledger { Note = "in a transaction" });
            await context.SaveChangesAsync(); // inside a user transaction: EF would use a savepoint here
            await transaction.CommitAsync();
        });

        Assert.Equal(4, await context.Ledger.CountAsync(l => l.Note == "in a transaction"));
        Assert.DoesNotContain(_log, line => line.Contains("SAVEPOINT", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task A_retrying_Npgsql_strategy_added_the_way_Aspire_does_is_refused_and_DisableRetry_keeps_the_DSQL_one()
    {
        // EnrichNpgsqlDbContext<T>() adds UseNpgsql(n => n.EnableRetryOnFailure()) unless its settings say DisableRetry = true.
        var aspireLike = Configure(new DbContextOptionsBuilder<BankContext>());
        aspireLike.UseNpgsql(n => n.EnableRetryOnFailure());
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using var context = new BankContext((DbContextOptions<BankContext>)aspireLike.Options);
            await context.Ledger.CountAsync();
        });
        Assert.Contains("DisableRetry = true", ex.Message);

        await using (var context = NewContext())
        {
            Assert.IsType<DsqlRetryingExecutionStrategy>(context.Database.CreateExecutionStrategy());
            Assert.True(await context.Ledger.CountAsync() >= 0);
        }
    }

    [Fact]
    public async Task Raw_Npgsql_default_BEGIN_is_what_the_emulator_refuses()
    {
        // The control for the test above: without EFCore.Dsql's mapping, Npgsql's default BEGIN is refused.
        await using var context = NewContext();
        await context.Database.OpenConnectionAsync();
        var connection = (NpgsqlConnection)context.Database.GetDbConnection();

        var ex = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var transaction = await connection.BeginTransactionAsync();
            await using var command = new NpgsqlCommand("SELECT 1", connection, transaction);
            await command.ExecuteScalarAsync();
        });

        Assert.Equal("0A000", ex.SqlState);
    }

    [Fact]
    public async Task A_connection_closed_by_the_server_mid_transaction_is_retried_without_a_partial_commit()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        var options = OwnServerOptions(server);
        await using (var setup = new BankContext(options))
        {
            await setup.Database.EnsureCreatedAsync();
        }

        var factory = new FixedOptionsFactory(options);
        var attempts = 0;

        // The failure surfaces at COMMIT, so its outcome is unknown to the client: the verifier settles it (nothing applied).
        await factory.ExecuteInNewContextAsync(
            async (context, ct) =>
            {
                attempts++;
                await using var transaction = await context.Database.BeginTransactionAsync(ct);
                context.Ledger.AddRange(new Ledger { Note = "survives a dropped connection" }, new Ledger { Note = "survives a dropped connection" });
                await context.SaveChangesAsync(ct);
                if (attempts == 1)
                {
                    server.CloseAllConnections();
                }

                await transaction.CommitAsync(ct);
                return true;
            },
            (context, ct) => context.Ledger.AnyAsync(l => l.Note == "survives a dropped connection", ct));

        await using var check = new BankContext(options);
        Assert.Equal(2, attempts);
        Assert.Equal(2, await check.Ledger.CountAsync(l => l.Note == "survives a dropped connection"));
    }

    /// <summary>Options for a server a test starts for itself (quick retries: 10, from 5 ms up to 100 ms).</summary>
    private static DbContextOptions<BankContext> OwnServerOptions(DsqlLocalServer server)
        => new DbContextOptionsBuilder<BankContext>()
            .UseAuroraDsql(
                $"Host=localhost;Port={server.Port};SSL Mode={(server.TlsEnabled ? "Require" : "Disable")}",
                o => o.Region(server.Region)
                    .Credentials(new BasicAWSCredentials(server.Credential.AccessKeyId, server.Credential.SecretAccessKey))
                    .EnableRetryOnFailure(10, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(100), null))
            .ConfigureWarnings(TestWarnings.Configure)
            .Options;

    private sealed class FixedOptionsFactory(DbContextOptions<BankContext> options) : IDbContextFactory<BankContext>
    {
        public BankContext CreateDbContext() => new(options);
    }

    [Fact]
    public async Task A_failing_credentials_provider_gives_a_clear_error_and_the_next_attempt_works_once_it_recovers()
    {
        var credentials = new FlakyCredentials(fixture.Credential) { Failing = true };
        await using var context = NewContext(credentials, "efcore-emulator-flaky");

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => context.Ledger.CountAsync());
        Assert.Contains("credentials are unavailable", Flatten(ex));
        Assert.DoesNotContain(fixture.Credential.SecretAccessKey, Flatten(ex));
        Assert.False(await context.Database.CanConnectAsync());

        credentials.Failing = false;
        Assert.True(await context.Database.CanConnectAsync());
        Assert.True(await context.Ledger.CountAsync() >= 0);
    }

    [Fact]
    public async Task Wrong_credentials_are_refused_without_retrying()
    {
        await using var context = NewContext(new BasicAWSCredentials(fixture.Credential.AccessKeyId, "not-the-secret"), "efcore-emulator-wrong");

        var ex = await Assert.ThrowsAsync<PostgresException>(() => context.Ledger.CountAsync());

        Assert.StartsWith("28", ex.SqlState);
        Assert.DoesNotContain(_log, line => line.Contains("retry"));
    }

    [Fact]
    public async Task The_pool_recovers_after_the_emulator_closes_connections_at_their_maximum_age()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions { MaxConnectionAge = TimeSpan.FromSeconds(1) });
        var options = OwnServerOptions(server);

        await using (var context = new BankContext(options))
        {
            Assert.Equal(1, await context.Database.SqlQueryRaw<int>("SELECT 1 AS \"Value\"").SingleAsync());
        }

        await Task.Delay(TimeSpan.FromSeconds(2));

        await using (var context = new BankContext(options))
        {
            Assert.Equal(2, await context.Database.SqlQueryRaw<int>("SELECT 2 AS \"Value\"").SingleAsync());
        }
    }

    private static string Flatten(Exception ex)
    {
        var text = "";
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            text += e.Message + " | ";
        }

        return text;
    }

    /// <summary>Credentials whose resolution fails while <see cref="Failing"/> is set, like an expired SSO session or an unreachable IMDS.</summary>
    private sealed class FlakyCredentials(DsqlLocalCredential credential) : AWSCredentials
    {
        public volatile bool Failing;

        public override ImmutableCredentials GetCredentials()
            => Failing
                ? throw new AmazonClientException("The AWS credentials are unavailable (simulated).")
                : new ImmutableCredentials(credential.AccessKeyId, credential.SecretAccessKey, null);

        public override Task<ImmutableCredentials> GetCredentialsAsync() => Task.FromResult(GetCredentials());
    }
}
