#pragma warning disable EF1001 // tests reach into EFCore.Dsql internals on purpose
using Amazon.Runtime;
using Dsql.Local;
using EFCore.Dsql.FunctionalTests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace EFCore.Dsql.FunctionalTests.EFCore;

public sealed class Account
{
    public Guid Id { get; set; }
    public string Owner { get; set; } = "";
    public long Balance { get; set; }
    public List<Statement> Statements { get; set; } = [];
}

public sealed class Statement
{
    public long Id { get; set; }
    public Guid AccountId { get; set; }
    public string Period { get; set; } = "";
}

public sealed class Ledger
{
    public long Id { get; set; }
    public string Note { get; set; } = "";
}

/// <summary>Accounts with statements (a foreign key and its index, created with CREATE INDEX ASYNC), a ledger and counters.</summary>
public sealed class BankContext(DbContextOptions<BankContext> options) : DbContext(options)
{
    public DbSet<Account> Accounts => Set<Account>();
    public DbSet<Ledger> Ledger => Set<Ledger>();
    public DbSet<Counter> Counters => Set<Counter>();
    public DbSet<Statement> Statements => Set<Statement>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Account>(b =>
        {
            b.ToTable("emu_accounts");
            b.HasIndex(a => a.Owner);
        });
        modelBuilder.Entity<Statement>().ToTable("emu_statements");
        modelBuilder.Entity<Ledger>().ToTable("emu_ledger");
        modelBuilder.Entity<Counter>(b =>
        {
            b.ToTable("emu_counters");
            b.Property(c => c.Id).ValueGeneratedNever();
        });
    }
}

/// <summary>
/// EF Core against Dsql.Local with IAM authentication on: every connection presents a SigV4 token the emulator verifies,
/// and the emulator enforces DSQL's transaction and DDL rules.
/// </summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class EmulatorTests(DsqlLocalFixture fixture) : IAsyncLifetime
{
    private readonly List<string> _log = [];

    private AWSCredentials Credentials => _credentials ??= new BasicAWSCredentials(fixture.Credential.AccessKeyId, fixture.Credential.SecretAccessKey);

    private AWSCredentials? _credentials;

    private string Source(string applicationName = "efcore-emulator")
        => $"Host=localhost;Port={fixture.Port};SSL Mode={(fixture.Server.TlsEnabled ? "Require" : "Disable")};Application Name={applicationName}";

    private DbContextOptionsBuilder Configure(
        DbContextOptionsBuilder builder, AWSCredentials? credentials = null, string applicationName = "efcore-emulator", bool defaultRetries = false)
        => builder
            .UseAuroraDsql(Source(applicationName), o =>
            {
                o.Region(fixture.Region).Credentials(credentials ?? Credentials);
                if (!defaultRetries)
                {
                    o.EnableRetryOnFailure(20, TimeSpan.FromMilliseconds(5), TimeSpan.FromSeconds(1), null);
                }
            })
            .LogTo(line => { lock (_log) { _log.Add(line); } }, [DsqlEventId.ExecutionStrategyRetrying, RelationalEventId.CommandExecuting])
            .ConfigureWarnings(TestWarnings.Configure);

    private BankContext NewContext(AWSCredentials? credentials = null, string applicationName = "efcore-emulator")
        => new((DbContextOptions<BankContext>)Configure(new DbContextOptionsBuilder<BankContext>(), credentials, applicationName).Options);

    public async Task InitializeAsync()
    {
        await using var context = NewContext();
        await context.Database.EnsureDeletedAsync();
        Assert.True(await context.Database.EnsureCreatedAsync());
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task CRUD_and_queries_work_over_IAM_authentication()
    {
        Guid id;
        await using (var context = NewContext())
        {
            var account = new Account { Owner = "ana", Balance = 100 };
            context.Accounts.Add(account);
            context.Ledger.AddRange(new Ledger { Note = "opened" }, new Ledger { Note = "funded" });
            await context.SaveChangesAsync(); // three INSERTs, one batch, one REPEATABLE READ transaction
            id = account.Id;
            Assert.NotEqual(Guid.Empty, id);
        }

        await using (var context = NewContext())
        {
            var account = await context.Accounts.SingleAsync(a => a.Id == id);
            account.Balance -= 30;
            await context.SaveChangesAsync();
            Assert.Equal(2, await context.Ledger.CountAsync(l => l.Note.EndsWith("ed")));
            Assert.Equal(70, await context.Accounts.Where(a => a.Owner == "ana").Select(a => a.Balance).SingleAsync());
            context.Accounts.Remove(account);
            await context.SaveChangesAsync();
            Assert.False(await context.Accounts.AnyAsync(a => a.Id == id));
        }

        Assert.DoesNotContain(_log, line => line.Contains("SAVEPOINT", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Relationships_load_through_a_foreign_key_created_by_EnsureCreated()
    {
        var account = new Account { Owner = "bo", Balance = 5 };
        await using (var context = NewContext())
        {
            account.Statements.AddRange([new Statement { Period = "2026-01" }, new Statement { Period = "2026-02" }]);
            context.Accounts.Add(account);
            await context.SaveChangesAsync();
        }

        await using (var context = NewContext())
        {
            var loaded = await context.Accounts.Include(a => a.Statements).SingleAsync(a => a.Id == account.Id);
            Assert.Equal(["2026-01", "2026-02"], loaded.Statements.Select(s => s.Period).Order());
            Assert.True(loaded.Statements.All(s => s.Id > 0));
            Assert.Equal("bo", await context.Accounts.Where(a => a.Owner == "bo").Select(a => a.Owner).FirstAsync());
        }
    }

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
        await using (var context = new BankContext((DbContextOptions<BankContext>)aspireLike.Options))
        {
            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => context.Ledger.CountAsync());
            Assert.Contains("DisableRetry = true", ex.Message);
        }

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

    [Theory]
    [InlineData(16, 50)]
    [InlineData(32, 25)]
    public async Task Workers_incrementing_one_hot_row_with_default_retry_settings_all_commit_over_IAM(int workers, int increments)
    {
        var applicationName = $"efcore-emulator-contention-{workers}";
        await using var services = new ServiceCollection()
            .AddPooledDbContextFactory<BankContext>(b => Configure(b, applicationName: applicationName, defaultRetries: true))
            .BuildServiceProvider();
        var factory = services.GetRequiredService<IDbContextFactory<BankContext>>();
        var counterId = 1000 + workers;
        await using (var seed = await factory.CreateDbContextAsync())
        {
            seed.Counters.Add(new Counter { Id = counterId, Value = 0 });
            await seed.SaveChangesAsync();
        }

        var gaveUp = 0;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < increments; i++)
            {
                try
                {
                    await factory.ExecuteInNewContextAsync(async (context, ct) =>
                    {
                        await using var transaction = await context.Database.BeginTransactionAsync(ct);
                        var counter = await context.Counters.SingleAsync(c => c.Id == counterId, ct);
                        counter.Value++;
                        await context.SaveChangesAsync(ct);
                        await transaction.CommitAsync(ct);
                    });
                }
                catch (RetryLimitExceededException)
                {
                    Interlocked.Increment(ref gaveUp);
                }
            }
        })));

        await using var check = await factory.CreateDbContextAsync();
        var final = (await check.Counters.SingleAsync(c => c.Id == counterId)).Value;
        int retries;
        lock (_log)
        {
            retries = _log.Count(line => line.Contains("retryable failure", StringComparison.Ordinal) && line.Contains("40001", StringComparison.Ordinal));
        }

        var total = workers * increments;
        WriteSummary(
            $"efcore-contention-{workers}x{increments}",
            $"efcore: {workers} workers x {increments} increments of one row on Dsql.Local (IAM, TLS), default UseAuroraDsql retry settings "
                + $"(budget {DsqlRetryingExecutionStrategy.DefaultMaxRetryDuration.TotalSeconds:0} s / {DsqlRetryingExecutionStrategy.DefaultMaxRetryCount} retries, "
                + $"full jitter {DsqlRetryingExecutionStrategy.DefaultBaseDelay.TotalMilliseconds:0} ms to {DsqlRetryingExecutionStrategy.DefaultMaxDelay.TotalSeconds:0} s): "
                + $"final value {final}/{total}, {gaveUp} gave up, {retries} retries logged");
        Assert.Equal(0, gaveUp);
        Assert.Equal(total, final);
        Assert.True(retries > 0, "the run must have been contended");
    }

    [Fact]
    public async Task A_connection_closed_by_the_server_mid_transaction_is_retried_without_a_partial_commit()
    {
        await using var server = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        var options = new DbContextOptionsBuilder<BankContext>()
            .UseAuroraDsql(
                $"Host=localhost;Port={server.Port};SSL Mode={(server.TlsEnabled ? "Require" : "Disable")}",
                o => o.Region(server.Region)
                    .Credentials(new BasicAWSCredentials(server.Credential.AccessKeyId, server.Credential.SecretAccessKey))
                    .EnableRetryOnFailure(10, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(100), null))
            .ConfigureWarnings(TestWarnings.Configure)
            .Options;
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

    private static void WriteSummary(string name, string line)
    {
        if (Environment.GetEnvironmentVariable("DSQL_TEST_SUMMARY_DIR") is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, name + ".txt"), line + Environment.NewLine);
        }
    }

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
        var options = new DbContextOptionsBuilder<BankContext>()
            .UseAuroraDsql(
                $"Host=localhost;Port={server.Port};SSL Mode={(server.TlsEnabled ? "Require" : "Disable")}",
                o => o.Region(server.Region)
                    .Credentials(new BasicAWSCredentials(server.Credential.AccessKeyId, server.Credential.SecretAccessKey))
                    .EnableRetryOnFailure(10, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(100), null))
            .ConfigureWarnings(TestWarnings.Configure)
            .Options;

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
