#pragma warning disable EF1001 // The tests wire the internal migration services directly.

using System.Diagnostics;
using EFCore.Dsql.FunctionalTests.Migrations.Shop;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace EFCore.Dsql.FunctionalTests.Migrations;

/// <summary>The shop migrations applied to the Dsql.Local emulator (IAM auth, TLS, DSQL's refusals) in every way they can be.</summary>
[Collection(DsqlMigrationsCollection.Name)]
public sealed class DsqlMigrationsTests(DsqlLocalFixture fixture) : IAsyncLifetime
{
    public Task InitializeAsync() => ShopDatabase.ResetAsync(fixture);

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Applies_seven_migrations_from_empty_and_waits_for_every_index_build_and_validation()
    {
        await MigrationsFinishAsync();

        Assert.Equal(2, await ShopDatabase.BackendScalarAsync<long>(fixture, """SELECT count(*) FROM shop."Products" """));
        Assert.Equal(0, await ShopDatabase.BackendScalarAsync<long>(fixture, """SELECT count(*) FROM shop."__EFMigrationsLock" WHERE "Holder" <> '' """));
    }

    [Fact]
    public async Task UseAuroraDsql_applies_the_migrations_with_its_retrying_strategy()
    {
        await using var context = new ShopContext(new DbContextOptionsBuilder<ShopContext>()
            .UseAuroraDsqlForTests(fixture.DataSource, ShopContext.Schema, dsql => dsql.EnableRetryOnFailure())
            .Options);

        await context.Database.MigrateAsync();

        Assert.Equal(ShopContext.MigrationIds, await ShopDatabase.AppliedMigrationsAsync(fixture));
        Assert.Equal(0, await ShopDatabase.InvalidIndexCountAsync(fixture));
        Assert.IsType<DsqlMigrator>(context.GetService<IMigrator>());
    }

    [Fact]
    public void Applies_all_migrations_synchronously_too()
    {
        using var context = ShopDatabase.CreateContext(fixture.DataSource);

        context.Database.Migrate();

        Assert.Equal(ShopContext.MigrationIds, context.Database.GetAppliedMigrations());
    }

    [Fact]
    public async Task Applies_step_by_step_backfilling_existing_rows_and_reverts()
    {
        await using var context = ShopDatabase.CreateContext(fixture.DataSource);
        var migrator = context.GetService<IMigrator>();

        await migrator.MigrateAsync(AddCustomerEmail.Id);
        await ShopDatabase.ExecuteAsync(fixture, """INSERT INTO shop."Customers" ("Name", "Email") VALUES ('Ann', 'ann@example.com')""");
        await ShopDatabase.ExecuteAsync(fixture, """INSERT INTO shop."Orders" ("CustomerId", "Note") SELECT "Id", 'first' FROM shop."Customers" """);

        await migrator.MigrateAsync(AddOrderQuantity.Id);
        Assert.Equal(1, await ShopDatabase.BackendScalarAsync<int>(fixture, """SELECT "Quantity" FROM shop."Orders" """));
        Assert.Equal("first", await ShopDatabase.BackendScalarAsync<string>(fixture, """SELECT "Comment" FROM shop."Orders" """));
        var refused = await Assert.ThrowsAsync<PostgresException>(() => ShopDatabase.ExecuteAsync(fixture,
            """INSERT INTO shop."Orders" ("CustomerId", "Quantity") SELECT "Id", NULL FROM shop."Customers" """));
        Assert.Equal(PostgresErrorCodes.CheckViolation, refused.SqlState);

        await migrator.MigrateAsync(AddOrderNumbers.Id);
        Assert.Equal(1000L, await ShopDatabase.BackendScalarAsync<long>(fixture, """SELECT "Number" FROM shop."Orders" """));

        await migrator.MigrateAsync();
        Assert.Equal(ShopContext.MigrationIds, await ShopDatabase.AppliedMigrationsAsync(fixture));

        await migrator.MigrateAsync(AddProducts.Id);
        Assert.Equal(ShopContext.MigrationIds[..4], await ShopDatabase.AppliedMigrationsAsync(fixture));
        Assert.Equal(0, await ShopDatabase.BackendScalarAsync<long>(fixture, """SELECT count(*) FROM shop."Products" """));

        await migrator.MigrateAsync();
        Assert.Equal(ShopContext.MigrationIds, await ShopDatabase.AppliedMigrationsAsync(fixture));
    }

    [Fact]
    public async Task Without_waiting_index_builds_are_left_running()
    {
        await using var context = ShopDatabase.CreateContext(fixture.DataSource, new DsqlMigrationsOptions { WaitForJobs = false });

        await context.GetService<IMigrator>().MigrateAsync(AddCustomerEmail.Id);

        Assert.Equal(2, await ShopDatabase.InvalidIndexCountAsync(fixture));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Index_builds_of_consecutive_creating_steps_run_side_by_side_and_are_all_complete_before_the_history_row(bool async)
    {
        await fixture.ExecuteOnBackendAsync($"DROP SCHEMA IF EXISTS {CatalogContext.Schema} CASCADE");
        var log = new StatementLog();
        var historyProbe = new InvalidIndexesAtHistoryInsert(fixture.BackendConnectionString, CatalogContext.Schema);
        await using (var context = CatalogContext.Create(fixture.DataSource, log, historyProbe))
        {
            if (async)
            {
                await context.Database.MigrateAsync();
            }
            else
            {
                context.Database.Migrate();
            }
        }

        // Each table and index is created right after the one before, no wait in between; the three waits then go to DSQL in
        // one pipelined round trip (not through EF's command pipeline, so not in this log), before the history row.
        var expected = CatalogContext.Tables
            .SelectMany(t => new[] { $"CREATE TABLE {CatalogContext.Schema}.\"{t}\" ", $"CREATE UNIQUE INDEX ASYNC \"IX_{t}_Name\" " })
            .ToList();
        Assert.Equal(expected.Count, log.MigrationDdl.Count);
        Assert.All(expected.Zip(log.MigrationDdl), step => Assert.StartsWith(step.First, step.Second, StringComparison.Ordinal));
        Assert.DoesNotContain(log.Statements, s => s.StartsWith("CALL sys.wait_for_job", StringComparison.Ordinal));
        Assert.Equal([0L], historyProbe.InvalidIndexCounts);
        Assert.Equal(3L, await ShopDatabase.BackendScalarAsync<long>(fixture, $"""
            SELECT count(*) FROM sys.jobs j JOIN pg_index i ON i.indexrelid = j.object_id
            WHERE j.status = 'completed' AND i.indisvalid AND j.object_id::regclass::text LIKE '{CatalogContext.Schema}.%'
            """));
    }

    [Fact]
    public async Task An_execution_strategy_retry_still_waits_for_the_index_builds_the_failed_attempt_started()
    {
        await fixture.ExecuteOnBackendAsync($"DROP SCHEMA IF EXISTS {CatalogContext.Schema} CASCADE");
        var conflict = new ConflictOnceAfterStatementInterceptor($"CREATE TABLE {CatalogContext.Schema}.\"Shelves\"");
        var historyProbe = new InvalidIndexesAtHistoryInsert(fixture.BackendConnectionString, CatalogContext.Schema);
        await using (var context = CatalogContext.Create(fixture.DataSource, retryOnFailure: true, conflict, historyProbe))
        {
            await context.Database.MigrateAsync();
        }

        // The retry starts after the Brands index build, which the failed attempt started and had not waited for yet.
        Assert.True(conflict.Thrown);
        Assert.Equal([0L], historyProbe.InvalidIndexCounts);
        Assert.Equal(0L, await ShopDatabase.InvalidIndexCountAsync(fixture, CatalogContext.Schema));
    }

    [Fact]
    public async Task Resumes_a_migration_that_failed_after_a_statement_committed()
    {
        await using (var crashing = ShopDatabase.CreateContext(
                         fixture.DataSource, interceptors: new CrashAfterStatementInterceptor("ADD COLUMN \"ProductId\"")))
        {
            await Assert.ThrowsAsync<IOException>(() => crashing.Database.MigrateAsync());
        }

        Assert.Equal(ShopContext.MigrationIds[..3], await ShopDatabase.AppliedMigrationsAsync(fixture));

        // Restarting AddProducts from its first statement would fail: "Products" exists and "ProductId" too.
        await MigrationsFinishAsync();
    }

    [Fact]
    public async Task Execution_strategy_retry_after_an_occ_conflict_resumes_within_the_same_call()
    {
        var conflict = new ConflictOnceAfterStatementInterceptor("ADD COLUMN \"ProductId\"");
        await using var context = ShopDatabase.CreateContext(fixture.DataSource, null, retryOnFailure: true, conflict);

        await context.Database.MigrateAsync();

        Assert.True(conflict.Thrown);
        Assert.Equal(ShopContext.MigrationIds, await ShopDatabase.AppliedMigrationsAsync(fixture));
    }

    [Fact]
    public async Task Resumed_after_a_crash_while_an_index_was_building_waits_for_that_build()
    {
        await using (var crashing = ShopDatabase.CreateContext(
                         fixture.DataSource, interceptors: new CrashAfterStatementInterceptor("CREATE UNIQUE INDEX ASYNC \"IX_Customers_Email\"")))
        {
            await Assert.ThrowsAsync<IOException>(() => crashing.Database.MigrateAsync());
        }

        Assert.Equal(1, await ShopDatabase.InvalidIndexCountAsync(fixture));

        await using var context = ShopDatabase.CreateContext(fixture.DataSource);
        await context.Database.MigrateAsync();

        Assert.Equal(ShopContext.MigrationIds, await ShopDatabase.AppliedMigrationsAsync(fixture));
        Assert.Equal(0, await ShopDatabase.InvalidIndexCountAsync(fixture));
    }

    [Fact]
    public async Task Takes_over_the_expired_lease_of_a_crashed_migrator_and_finishes_its_migration()
    {
        await using (var crashing = ShopDatabase.CreateContext(
                         fixture.DataSource, interceptors: new CrashAfterStatementInterceptor("ADD COLUMN \"ProductId\"")))
        {
            await Assert.ThrowsAsync<IOException>(() => crashing.Database.MigrateAsync());
        }

        // A killed process never releases its lease: make it look held by a dead migrator for two more seconds.
        await fixture.ExecuteOnBackendAsync(
            """UPDATE shop."__EFMigrationsLock" SET "Holder" = 'killed', "ExpiresAt" = now() + interval '2 seconds'""");

        await using var context = ShopDatabase.CreateContext(
            fixture.DataSource, new DsqlMigrationsOptions { LockRetryMaxDelay = TimeSpan.FromMilliseconds(200) });
        await context.Database.MigrateAsync();

        Assert.Equal(ShopContext.MigrationIds, await ShopDatabase.AppliedMigrationsAsync(fixture));
    }

    [Fact]
    public async Task Two_concurrent_migrators_apply_each_migration_exactly_once()
    {
        var historyInserts = new CountingInterceptor("INSERT INTO shop.\"__EFMigrationsHistory\"");
        var options = new DsqlMigrationsOptions { LockRetryMaxDelay = TimeSpan.FromMilliseconds(200) };
        await using var first = ShopDatabase.CreateContext(fixture.DataSource, options, historyInserts);
        await using var second = ShopDatabase.CreateContext(fixture.DataSource, options, historyInserts);

        await Task.WhenAll(Task.Run(() => first.Database.MigrateAsync()), Task.Run(() => second.Database.MigrateAsync()));

        Assert.Equal(ShopContext.MigrationIds, await ShopDatabase.AppliedMigrationsAsync(fixture));
        Assert.Equal(ShopContext.MigrationIds.Length, historyInserts.Count);
    }

    [Fact]
    public async Task Two_migrators_with_a_short_lease_and_an_index_build_longer_than_it_run_every_statement_once()
    {
        // The holder's lease (3 s) would expire twice over while it waits for IX_Customers_Email (emulator-only hook:
        // CALL sys.wait_for_job blocks 7 s for that index); renewed in the background, it never does.
        var lease = TimeSpan.FromSeconds(3);
        await SetJobWaitDelayAsync("IX_Customers_Email", TimeSpan.FromSeconds(7));
        try
        {
            var options = new DsqlMigrationsOptions { LockLease = lease, LockRetryMaxDelay = TimeSpan.FromMilliseconds(200) };
            var firstLog = new StatementLog();
            var secondLog = new StatementLog();
            await using var first = ShopDatabase.CreateContext(fixture.DataSource, options, firstLog);
            await using var second = ShopDatabase.CreateContext(fixture.DataSource, options, secondLog);

            await Task.WhenAll(Task.Run(() => first.Database.MigrateAsync()), Task.Run(() => second.Database.MigrateAsync()));

            Assert.Equal(ShopContext.MigrationIds, await ShopDatabase.AppliedMigrationsAsync(fixture));
            var ddl = firstLog.MigrationDdl.Concat(secondLog.MigrationDdl).ToList();
            Assert.Equal(ddl.Distinct().Count(), ddl.Count);
            Assert.Contains(0, new[] { firstLog.MigrationDdl.Count, secondLog.MigrationDdl.Count });
            Assert.Equal(ShopContext.MigrationIds.Length,
                firstLog.Statements.Concat(secondLog.Statements).Count(s => s.StartsWith("INSERT INTO shop.\"__EFMigrationsHistory\"", StringComparison.Ordinal)));
            Assert.Equal(0, await ShopDatabase.InvalidIndexCountAsync(fixture));
        }
        finally
        {
            await SetJobWaitDelayAsync("IX_Customers_Email", null);
        }
    }

    [Fact]
    public async Task Migrator_whose_lease_was_taken_over_runs_no_further_statement_and_the_next_one_finishes_its_migration()
    {
        var lease = TimeSpan.FromSeconds(1);
        var log = new StatementLog();
        const string marker = "ADD COLUMN \"ProductId\"";
        await using (var stalled = ShopDatabase.CreateContext(
                         fixture.DataSource, new DsqlMigrationsOptions { LockLease = lease }, log,
                         new LeaseTakenOverAfterStatementInterceptor(fixture.BackendConnectionString, marker, lease * 0.75)))
        {
            var lost = await Assert.ThrowsAsync<InvalidOperationException>(() => stalled.Database.MigrateAsync());
            Assert.Contains("lost the Aurora DSQL migration lock", lost.Message);
        }

        var afterTakeOver = log.Statements.SkipWhile(s => !s.Contains(marker, StringComparison.Ordinal)).Skip(1).ToList();
        Assert.All(afterTakeOver, s => Assert.Contains("__EFMigrationsLock", s));
        Assert.Equal("other", await ShopDatabase.BackendScalarAsync<string>(fixture, """SELECT "Holder" FROM shop."__EFMigrationsLock" """));
        Assert.Equal(ShopContext.MigrationIds[..3], await ShopDatabase.AppliedMigrationsAsync(fixture));

        // The other migrator vanished: its lease expires, and the next migrator finishes AddProducts where it stopped.
        await fixture.ExecuteOnBackendAsync("""UPDATE shop."__EFMigrationsLock" SET "ExpiresAt" = now() - interval '1 second'""");
        await MigrationsFinishAsync();
    }

    [Fact]
    public async Task Applying_the_seven_shop_migrations_takes_at_most_the_budgeted_round_trips()
    {
        // Statement counts do not depend on timing: one per round trip the migrator makes (transaction COMMITs aside). Before
        // progress was recorded only around steps that cannot run twice, the same run took 85 statements, 42 on the lease row.
        var log = new StatementLog();
        await using var context = ShopDatabase.CreateContext(fixture.DataSource, null, log);

        await context.Database.MigrateAsync();

        var lockStatements = log.Statements.Count(s => s.Contains("__EFMigrationsLock", StringComparison.Ordinal));
        Assert.True(log.Statements.Count <= TotalBudget && lockStatements <= LockBudget,
            $"{log.Statements.Count} statements, {lockStatements} of them on the lease row (budget {TotalBudget} and {LockBudget}):\n"
            + string.Join("\n", log.Statements));
    }

    /// <summary>
    ///     Round trips of the seven shop migrations: 3 for the lock (its table, taking and giving up the lease), 2 per migration (started, finished), one around each step
    ///     that cannot run twice (a rename, a drop) and one with each data transaction; the rest are the migrations' own.
    /// </summary>
    private const int TotalBudget = 66;

    /// <summary>Statements on the lease row among them.</summary>
    private const int LockBudget = 23;

    /// <summary>A new migrator applies what is left: every migration, every index valid, every constraint validated.</summary>
    private async Task MigrationsFinishAsync()
    {
        await using var context = ShopDatabase.CreateContext(fixture.DataSource);
        await context.Database.MigrateAsync();

        Assert.Equal(ShopContext.MigrationIds, await ShopDatabase.AppliedMigrationsAsync(fixture));
        Assert.Equal(0, await ShopDatabase.InvalidIndexCountAsync(fixture));
        Assert.Equal(0, await ShopDatabase.UnvalidatedConstraintCountAsync(fixture));
    }

    private async Task SetJobWaitDelayAsync(string indexName, TimeSpan? delay)
    {
        await using var connection = new NpgsqlConnection(fixture.BackendConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            delay is null
                ? "DELETE FROM dsql_local.job_wait_delays WHERE object_name = $1"
                : "INSERT INTO dsql_local.job_wait_delays VALUES ($1, $2) ON CONFLICT (object_name) DO UPDATE SET delay = EXCLUDED.delay",
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = indexName });
        if (delay is not null)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = delay.Value });
        }

        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Generated_script_runs_on_the_emulator_with_psql()
    {
        await using var context = ShopDatabase.CreateContext(fixture.DataSource);
        var script = context.GetService<IMigrator>().GenerateScript();

        var (exitCode, output) = await RunPsqlAsync(script);

        Assert.True(exitCode == 0, output);
        Assert.Equal(ShopContext.MigrationIds, await ShopDatabase.AppliedMigrationsAsync(fixture));
        Assert.Equal(2, await ShopDatabase.BackendScalarAsync<long>(fixture, """SELECT count(*) FROM shop."Products" """));
    }

    [Fact]
    public async Task Idempotent_script_runs_twice_with_psql_over_a_partly_migrated_database()
    {
        await using var context = ShopDatabase.CreateContext(fixture.DataSource);
        await context.GetService<IMigrator>().MigrateAsync(AddOrderQuantity.Id);
        var script = context.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent);

        var (firstExit, firstOutput) = await RunPsqlAsync(script);
        var (secondExit, secondOutput) = await RunPsqlAsync(script);

        Assert.True(firstExit == 0, firstOutput);
        Assert.True(secondExit == 0, secondOutput);
        Assert.Equal(ShopContext.MigrationIds, await ShopDatabase.AppliedMigrationsAsync(fixture));
        Assert.Equal(2, await ShopDatabase.BackendScalarAsync<long>(fixture, """SELECT count(*) FROM shop."Products" """));
    }

    [Fact]
    public async Task Adding_a_required_column_to_a_table_over_the_row_limit_backfills_in_batches()
    {
        await fixture.ExecuteOnBackendAsync("DROP SCHEMA IF EXISTS bulk CASCADE");
        await using var context = BackfillContext.Create(fixture.DataSource);
        await context.GetService<IMigrator>().MigrateAsync(CreateReadings.Id);
        await fixture.ExecuteOnBackendAsync("""INSERT INTO bulk."Readings" ("Id", "Name") SELECT g, 'r' || g FROM generate_series(1, 3500) g""");

        await context.Database.MigrateAsync();

        Assert.Equal(3500L, await ShopDatabase.BackendScalarAsync<long>(fixture, """SELECT count(*) FROM bulk."Readings" WHERE "Rank" = 7"""));
        Assert.True(await ShopDatabase.BackendScalarAsync<bool>(fixture,
            """SELECT convalidated FROM pg_constraint WHERE conname = 'CK_Readings_Rank_NotNull'"""));
        await fixture.ExecuteOnBackendAsync("DROP SCHEMA bulk CASCADE");
    }

    [Fact]
    public async Task Refuses_a_column_type_change_before_running_it_naming_the_migration()
    {
        await using var context = RefusedContext.Create(fixture.DataSource);

        var e = await Assert.ThrowsAsync<NotSupportedException>(() => context.Database.MigrateAsync());

        Assert.Contains("migration '20260201000002_WidenName', table 'refused.Things', column 'Name'", e.Message);
        Assert.Equal(1, await ShopDatabase.BackendScalarAsync<long>(fixture, """SELECT count(*) FROM refused."__EFMigrationsHistory" """));
        await fixture.ExecuteOnBackendAsync("DROP SCHEMA refused CASCADE");
    }

    private async Task<(int ExitCode, string Output)> RunPsqlAsync(string script)
    {
        var file = Path.Combine(Path.GetTempPath(), $"dsql-migrations-{Guid.NewGuid():N}.sql");
        await File.WriteAllTextAsync(file, script);
        try
        {
            var connection = new NpgsqlConnectionStringBuilder(fixture.ConnectionString);
            var start = new ProcessStartInfo("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true
            };
            start.Environment["PGHOST"] = fixture.Host;
            start.Environment["PGPORT"] = fixture.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            start.Environment["PGUSER"] = connection.Username;
            start.Environment["PGDATABASE"] = connection.Database ?? "postgres";
            start.Environment["PGPASSWORD"] = connection.Password;
            start.Environment["PGSSLMODE"] = "require";
            using var psql = Process.Start(start)!;
            var output = psql.StandardOutput.ReadToEndAsync();
            var error = psql.StandardError.ReadToEndAsync();
            await psql.WaitForExitAsync();
            return (psql.ExitCode, await output + await error);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
