#pragma warning disable EF1001 // tests reach into EFCore.Dsql and Npgsql internals on purpose
using System.Net.Sockets;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Dsql.Npgsql.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL;

namespace EFCore.Dsql.UnitTests.EFCore;

public class RetryingExecutionStrategyTests
{
    private static PostgresException Postgres(string sqlState, string message = "boom")
        => new(message, "ERROR", "ERROR", sqlState);

    private static PostgresException Occ() => Postgres("40001", "change conflicts with another transaction (OC000)");

    public static TheoryData<string, Exception> RetryableFailures() => new()
    {
        { "40001 OC000", Occ() },
        { "40001 OC001", Postgres("40001", "schema has been updated by another transaction (OC001)") },
        { "OC000 wrapped by EF", new DbUpdateException("save failed", Occ()) },
        { "OC000 only in an application message", new InvalidOperationException("wrapped: change conflicts with another transaction (OC000)") },
        { "too many connections", Postgres("53300") },
        { "connection rate", Postgres("53400") },
        { "admin shutdown", Postgres("57P01") },
        { "socket failure", new NpgsqlException("Exception while reading from stream", new SocketException()) },
        { "timeout", new TimeoutException() },
        { "single aggregate", new AggregateException(Occ()) },
    };

    public static TheoryData<string, Exception> PermanentFailures() => new()
    {
        { "unique violation", Postgres("23505") },
        { "foreign key violation", Postgres("23503") },
        { "bad password", Postgres("28P01") },
        { "auth", Postgres("28000") },
        { "syntax error", Postgres("42601") },
        { "row limit", Postgres("54000", "transaction row limit exceeded") },
        { "unsupported", Postgres("0A000", "unsupported statement: Truncate") },
        { "query memory", Postgres("53200") },
        { "not a database error", new InvalidOperationException("nope") },
        { "cancelled", new OperationCanceledException() },
    };

    [Theory]
    [MemberData(nameof(RetryableFailures))]
    public void Classifier_retries_OCC_conflicts_and_transient_failures(string _, Exception failure)
        => Assert.Equal(DsqlFailure.Retryable, DsqlFailureClassifier.Classify(failure));

    [Theory]
    [MemberData(nameof(PermanentFailures))]
    public void Classifier_never_retries_permanent_failures(string _, Exception failure)
        => Assert.Equal(DsqlFailure.Permanent, DsqlFailureClassifier.Classify(failure));

    [Fact]
    public void Server_unavailable_has_an_unknown_outcome()
        => Assert.Equal(DsqlFailure.OutcomeUnknown, DsqlFailureClassifier.Classify(Postgres("XX000", "server unavailable")));

    [Fact]
    public void Extra_error_codes_are_retried()
        => Assert.Equal(DsqlFailure.Retryable, DsqlFailureClassifier.Classify(Postgres("57014"), new HashSet<string> { "57014" }));

    [Fact]
    public void Describe_reports_sqlstate_and_occ_code_only()
        => Assert.Equal("40001 OC000", DsqlFailureClassifier.Describe(new DbUpdateException("x", Occ())));

    [Theory]
    [InlineData(0, 10, 1000, 10)]
    [InlineData(3, 10, 1000, 80)]
    [InlineData(20, 10, 1000, 1000)]
    public void Full_jitter_delay_stays_within_the_exponential_window(int retry, int baseMs, int maxMs, int ceilingMs)
    {
        var low = DsqlRetryingExecutionStrategy.FullJitter(retry, TimeSpan.FromMilliseconds(baseMs), TimeSpan.FromMilliseconds(maxMs), 0);
        var high = DsqlRetryingExecutionStrategy.FullJitter(retry, TimeSpan.FromMilliseconds(baseMs), TimeSpan.FromMilliseconds(maxMs), 0.999999);

        Assert.Equal(TimeSpan.Zero, low);
        Assert.InRange(high.TotalMilliseconds, ceilingMs * 0.999, ceilingMs);
    }

    [Fact]
    public void UseAuroraDsql_makes_the_DSQL_strategy_the_default()
    {
        using var context = new DbContext(TestEndpoints.Options());

        var strategy = Assert.IsType<DsqlRetryingExecutionStrategy>(context.Database.CreateExecutionStrategy());
        Assert.True(strategy.RetriesOnFailure);
    }

    [Fact]
    public void Disabling_retries_gives_a_non_retrying_strategy()
    {
        using var context = new DbContext(TestEndpoints.Options(o => o.DisableRetryOnFailure()));

        Assert.False(context.Database.CreateExecutionStrategy().RetriesOnFailure);
    }

    [Fact]
    public void An_explicit_strategy_still_wins()
    {
        using var context = new DbContext(TestEndpoints.Options(o => o.Npgsql(n => n.ExecutionStrategy(d => new NonRetryingExecutionStrategy(d)))));

        Assert.IsType<NonRetryingExecutionStrategy>(context.Database.CreateExecutionStrategy());
    }

    [Fact]
    public void Npgsqls_EnableRetryOnFailure_inside_UseAuroraDsql_is_refused_when_the_options_are_built()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => TestEndpoints.Options(o => o.Npgsql(n => n.EnableRetryOnFailure())));

        Assert.Contains("NpgsqlRetryingExecutionStrategy replaced DsqlRetryingExecutionStrategy", ex.Message);
        Assert.Contains("o.EnableRetryOnFailure(", ex.Message);
        Assert.Contains("DisableRetry = true", ex.Message);
    }

    [Fact]
    public void A_retrying_strategy_added_after_UseAuroraDsql_the_way_Aspire_does_is_refused_too()
    {
        var builder = new DbContextOptionsBuilder().UseAuroraDsql(TestEndpoints.Endpoint, o => o.Credentials(TestEndpoints.Credentials));
        builder.UseNpgsql(n => n.EnableRetryOnFailure()); // what EnrichNpgsqlDbContext<T>() adds unless DisableRetry is set

        // EF validates options when it builds their service provider (here, in the constructor). When an earlier context
        // with the same service-provider options built it, creating the strategy is refused instead: both are covered.
        var ex = Assert.Throws<InvalidOperationException>(() =>
        {
            using var context = new DbContext(builder.Options);
            context.Database.CreateExecutionStrategy();
        });
        Assert.Contains("NpgsqlRetryingExecutionStrategy replaced DsqlRetryingExecutionStrategy", ex.Message);
    }

    [Fact]
    public void A_retrying_strategy_is_refused_when_the_strategy_is_created_even_if_options_validation_was_skipped()
    {
        // The guard behind the options check: a factory that cannot be asked without a context (the check skips it).
        var builder = new DbContextOptionsBuilder().UseAuroraDsql(TestEndpoints.Endpoint, o => o.Credentials(TestEndpoints.Credentials));
        builder.UseNpgsql(n => n.ExecutionStrategy(d => new NpgsqlRetryingExecutionStrategy(d.CurrentContext.Context, 3)));
        using var context = new DbContext(builder.Options);

        var ex = Assert.Throws<InvalidOperationException>(() => context.Database.CreateExecutionStrategy());
        Assert.Contains("NpgsqlRetryingExecutionStrategy replaced DsqlRetryingExecutionStrategy", ex.Message);
    }

    [Fact]
    public void A_DSQL_strategy_subclass_configured_explicitly_is_accepted()
    {
        using var context = new DbContext(TestEndpoints.Options(o => o.Npgsql(n => n.ExecutionStrategy(d => new DsqlRetryingExecutionStrategy(d, 3)))));

        Assert.Equal(3, Assert.IsType<DsqlRetryingExecutionStrategy>(context.Database.CreateExecutionStrategy()).MaxRetryCount);
    }

    [Fact]
    public void Default_budget_is_sixty_seconds_or_two_hundred_retries_with_full_jitter_from_5_ms_to_100_ms()
    {
        using var context = new DbContext(TestEndpoints.Options());

        var strategy = Assert.IsType<DsqlRetryingExecutionStrategy>(context.Database.CreateExecutionStrategy());
        Assert.Equal((TimeSpan.FromSeconds(60), 200), (strategy.MaxRetryDuration, strategy.MaxRetryCount));
        Assert.Equal((TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(100)), (strategy.BaseDelay, strategy.MaxRetryDelay));
    }

    [Fact]
    public async Task A_commit_with_an_unknown_outcome_surfaces_at_the_top_without_a_retry()
    {
        using var context = LoggingContext([], maxRetries: 5);
        var attempts = 0;
        var lost = new DsqlCommitOutcomeUnknownException(new NpgsqlException("Exception while reading from stream", new SocketException()));

        var ex = await Assert.ThrowsAsync<DsqlCommitOutcomeUnknownException>(() =>
            context.Database.CreateExecutionStrategy().ExecuteAsync(() => { attempts++; throw new DbUpdateException("save", lost); }));

        Assert.Equal(1, attempts);
        Assert.IsType<DbUpdateException>(ex.InnerException);
        Assert.False(ex.IsTransient);
    }

    [Theory]
    [InlineData("08006")]
    [InlineData("57P01")]
    public void A_lost_connection_at_commit_is_ambiguous_but_a_server_answer_is_not(string sqlState)
    {
        Assert.True(DsqlFailureClassifier.IsAmbiguousCommitFailure(Postgres(sqlState)));
        Assert.True(DsqlFailureClassifier.IsAmbiguousCommitFailure(Postgres("XX000", "server unavailable")));
        Assert.True(DsqlFailureClassifier.IsAmbiguousCommitFailure(new NpgsqlException("read", new SocketException())));
        Assert.False(DsqlFailureClassifier.IsAmbiguousCommitFailure(Occ()));
        Assert.False(DsqlFailureClassifier.IsAmbiguousCommitFailure(Postgres("23505")));
        Assert.False(DsqlFailureClassifier.IsAmbiguousCommitFailure(new OperationCanceledException()));
    }

    [Fact]
    public void DsqlRetry_options_refuse_invalid_settings_with_the_setting_named()
    {
        Assert.Equal("MaxRetryCount", Assert.Throws<ArgumentOutOfRangeException>(() => new DsqlRetryOptions { MaxRetryCount = -1 }.Validated()).ParamName);
        Assert.Equal("MaxDelay", Assert.Throws<ArgumentOutOfRangeException>(
            () => new DsqlRetryOptions { BaseDelay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(1) }.Validated()).ParamName);
        Assert.True(DsqlRetryOptions.Default.MayRetry(199, TimeSpan.FromSeconds(59)));
        Assert.False(DsqlRetryOptions.Default.MayRetry(200, TimeSpan.Zero));
        Assert.False(DsqlRetryOptions.Default.MayRetry(0, TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task OCC_conflicts_are_retried_until_the_operation_succeeds_and_each_retry_is_logged()
    {
        var log = new List<string>();
        using var context = LoggingContext(log, maxRetries: 5);
        var attempts = 0;

        var result = await context.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await Task.Yield();
            return ++attempts < 4 ? throw new DbUpdateException("save", Occ()) : "done";
        });

        Assert.Equal(("done", 4), (result, attempts));
        Assert.Equal(3, log.Count);
        Assert.All(log, line => Assert.Contains("40001 OC000", line));
        Assert.Contains("retry 1 of 5", log[0]);
        Assert.Contains("retry 3 of 5", log[2]);
    }

    [Fact]
    public void Sync_execution_retries_too()
    {
        using var context = LoggingContext([], maxRetries: 5);
        var attempts = 0;

        var result = context.Database.CreateExecutionStrategy().Execute(() => ++attempts < 3 ? throw Occ() : attempts);

        Assert.Equal(3, result);
    }

    [Fact]
    public async Task Giving_up_throws_RetryLimitExceededException_with_the_last_failure()
    {
        using var context = LoggingContext([], maxRetries: 2);
        var attempts = 0;

        var ex = await Assert.ThrowsAsync<RetryLimitExceededException>(() =>
            context.Database.CreateExecutionStrategy().ExecuteAsync(() => { attempts++; throw Occ(); }));

        Assert.Equal(3, attempts);
        Assert.IsType<PostgresException>(ex.InnerException);
        Assert.Contains("after 2 retries", ex.Message);
        Assert.Contains("40001 OC000", ex.Message);
        Assert.Contains("contention", ex.Message);
    }

    [Fact]
    public async Task Giving_up_on_connection_failures_points_at_connectivity_not_contention()
    {
        using var context = LoggingContext([], maxRetries: 1);

        var ex = await Assert.ThrowsAsync<RetryLimitExceededException>(() =>
            context.Database.CreateExecutionStrategy().ExecuteAsync(
                () => throw new NpgsqlException("Exception while connecting", new SocketException())));

        Assert.Contains("unreachable", ex.Message);
        Assert.DoesNotContain("contention", ex.Message);
    }

    [Fact]
    public async Task Permanent_failures_are_thrown_after_one_attempt()
    {
        using var context = LoggingContext([], maxRetries: 5);
        var attempts = 0;

        var ex = await Assert.ThrowsAsync<PostgresException>(() =>
            context.Database.CreateExecutionStrategy().ExecuteAsync(() => { attempts++; throw Postgres("23505"); }));

        Assert.Equal(("23505", 1), (ex.SqlState, attempts));
    }

    [Fact]
    public async Task Server_unavailable_is_not_retried_without_a_verifier()
    {
        using var context = LoggingContext([], maxRetries: 5);
        var attempts = 0;

        await Assert.ThrowsAsync<PostgresException>(() =>
            context.Database.CreateExecutionStrategy().ExecuteAsync(() => { attempts++; throw Postgres("XX000", "server unavailable"); }));

        Assert.Equal(1, attempts);
    }

    [Fact]
    public async Task Server_unavailable_is_retried_when_the_verifier_says_the_unit_did_not_apply()
    {
        using var context = LoggingContext([], maxRetries: 5);
        var attempts = 0;
        var verifications = 0;

        var result = await context.Database.CreateExecutionStrategy().ExecuteAsync(
            0,
            (_, _, _) => ++attempts == 1 ? throw Postgres("XX000", "server unavailable") : Task.FromResult(attempts),
            (_, _, _) => { verifications++; return Task.FromResult(new ExecutionResult<int>(false, 0)); });

        Assert.Equal((2, 1), (result, verifications));
    }

    [Fact]
    public async Task A_verifier_that_confirms_success_stops_the_retries()
    {
        using var context = LoggingContext([], maxRetries: 5);
        var attempts = 0;

        var result = await context.Database.CreateExecutionStrategy().ExecuteAsync(
            0,
            (_, _, _) => { attempts++; throw Postgres("XX000", "server unavailable"); },
            (_, _, _) => Task.FromResult(new ExecutionResult<int>(true, 42)));

        Assert.Equal((42, 1), (result, attempts));
    }

    [Fact]
    public async Task Nested_executions_run_once_and_leave_retrying_to_the_outer_one()
    {
        using var context = LoggingContext([], maxRetries: 5);
        var strategy = context.Database.CreateExecutionStrategy();
        var outer = 0;
        var inner = 0;

        await strategy.ExecuteAsync(async () =>
        {
            outer++;
            await Assert.ThrowsAsync<PostgresException>(() => strategy.ExecuteAsync(() => { inner++; throw Occ(); }));
            if (outer < 2)
            {
                throw Occ();
            }
        });

        Assert.Equal((2, 2), (outer, inner));
    }

    [Fact]
    public async Task Cancellation_stops_retrying()
    {
        using var context = LoggingContext([], maxRetries: 50);
        using var cts = new CancellationTokenSource();
        var attempts = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => context.Database.CreateExecutionStrategy().ExecuteAsync<int, int>(
            0,
            (_, _, _) =>
            {
                if (++attempts == 2)
                {
                    cts.Cancel();
                }

                throw Occ();
            },
            null,
            cts.Token));

        Assert.InRange(attempts, 2, 3);
    }

    private static DbContext LoggingContext(List<string> log, int maxRetries)
        => new(new DbContextOptionsBuilder()
            .UseAuroraDsql(TestEndpoints.Endpoint, o => o
                .Credentials(TestEndpoints.Credentials)
                .EnableRetryOnFailure(maxRetries, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5), null))
            .LogTo(log.Add, [DsqlEventId.ExecutionStrategyRetrying])
            .Options);
}
