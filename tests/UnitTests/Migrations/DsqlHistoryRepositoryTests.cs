#pragma warning disable EF1001 // The tests exercise the internal migration services directly.

namespace EFCore.Dsql.UnitTests.Migrations;

public class DsqlHistoryRepositoryTests
{
    [Fact]
    public void Registration_replaces_npgsql_migration_services()
    {
        using var context = new DsqlMigrationsTestContext();

        Assert.IsType<DsqlMigrationsSqlGenerator>(context.GetService<IMigrationsSqlGenerator>());
        Assert.IsType<DsqlHistoryRepository>(context.GetService<IHistoryRepository>());
        Assert.IsType<DsqlMigrator>(context.GetService<IMigrator>());
        Assert.IsType<DsqlMigrationCommandExecutor>(context.GetService<IMigrationCommandExecutor>());
    }

    [Fact]
    public void Lock_is_released_explicitly_not_by_a_transaction()
    {
        using var context = new DsqlMigrationsTestContext();

        Assert.Equal(LockReleaseBehavior.Explicit, context.GetService<IHistoryRepository>().LockReleaseBehavior);
    }

    [Fact]
    public void History_table_script_is_create_table_if_not_exists_without_do_or_lock()
    {
        using var context = new DsqlMigrationsTestContext();

        var script = context.GetService<IHistoryRepository>().GetCreateIfNotExistsScript().ReplaceLineEndings("\n");

        Assert.Equal(
            """
            CREATE TABLE IF NOT EXISTS "__EFMigrationsHistory" (
                "MigrationId" character varying(150) NOT NULL,
                "ProductVersion" character varying(32) NOT NULL,
                CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY ("MigrationId")
            );

            """,
            script);
    }

    [Fact]
    public void Idempotent_guard_is_a_psql_conditional_not_a_do_block()
    {
        using var context = new DsqlMigrationsTestContext();
        var history = context.GetService<IHistoryRepository>();

        Assert.Equal(
            "SELECT NOT EXISTS (SELECT 1 FROM \"__EFMigrationsHistory\" WHERE \"MigrationId\" = '2026_O''Brien') AS ef_apply \\gset\n"
            + "\\if :ef_apply",
            history.GetBeginIfNotExistsScript("2026_O'Brien").ReplaceLineEndings("\n"));
        Assert.Equal(
            "SELECT EXISTS (SELECT 1 FROM \"__EFMigrationsHistory\" WHERE \"MigrationId\" = 'M') AS ef_apply \\gset\n\\if :ef_apply",
            history.GetBeginIfExistsScript("M").ReplaceLineEndings("\n"));
        Assert.Equal("\\endif\n", history.GetEndIfScript().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Lock_statements_use_a_lease_row_under_optimistic_concurrency()
    {
        var sql = new DsqlMigrationLockSql("\"__EFMigrationsLock\"", "\"PK___EFMigrationsLock\"", TimeSpan.FromMinutes(10));

        Assert.Equal(
            """
            INSERT INTO "__EFMigrationsLock" AS lock ("Id", "Holder", "ExpiresAt", "Step")
            VALUES (1, 'me', now() + interval '600 seconds', 0)
            ON CONFLICT ("Id") DO UPDATE SET "Holder" = EXCLUDED."Holder", "ExpiresAt" = EXCLUDED."ExpiresAt"
            WHERE lock."ExpiresAt" < now()
            RETURNING "MigrationId", "Step";
            """,
            sql.Acquire("me").ReplaceLineEndings("\n"));
        Assert.Equal(
            """UPDATE "__EFMigrationsLock" SET "MigrationId" = '2026_M', "Step" = 3, "ExpiresAt" = now() + interval '600 seconds' WHERE "Id" = 1 AND "Holder" = 'me';""",
            sql.RecordProgress("me", "2026_M", 3));
        Assert.Equal(
            """UPDATE "__EFMigrationsLock" SET "MigrationId" = NULL, "Step" = 0, "ExpiresAt" = now() + interval '600 seconds' WHERE "Id" = 1 AND "Holder" = 'me';""",
            sql.RecordProgress("me", null, 0));
        Assert.Equal(
            """UPDATE "__EFMigrationsLock" SET "ExpiresAt" = now() + interval '600 seconds' WHERE "Id" = 1 AND "Holder" = 'me';""",
            sql.Renew("me"));
        Assert.Equal(
            """UPDATE "__EFMigrationsLock" SET "Holder" = '', "ExpiresAt" = now() WHERE "Id" = 1 AND "Holder" = 'me';""",
            sql.Release("me"));
        Assert.StartsWith("CREATE TABLE IF NOT EXISTS \"__EFMigrationsLock\" (", sql.CreateTableIfNotExists);
    }

    [Fact]
    public void Lock_lease_shorter_than_a_second_is_refused()
        => Assert.Contains("at least one second", Assert.Throws<ArgumentOutOfRangeException>(
            () => new DsqlMigrationsOptions { LockLease = TimeSpan.FromMilliseconds(10) }).Message);

    [Fact]
    public void Index_state_sql_reads_validity_and_the_running_build_job()
        => Assert.Equal(
            """
            SELECT i.indisvalid, (SELECT j.job_id FROM sys.jobs j WHERE j.object_id = i.indexrelid AND j.status IN ('submitted', 'processing') LIMIT 1)
            FROM pg_index i WHERE i.indexrelid = to_regclass('shop."IX_O''Brien"')
            """,
            DsqlJobMigrationCommand.IndexStateSql("shop.\"IX_O'Brien\"").ReplaceLineEndings("\n"));

    [Fact]
    public void Index_builds_carry_their_qualified_name_for_resumption()
    {
        var command = DsqlMigrationsTestContext.Generate(
            new Microsoft.EntityFrameworkCore.Migrations.Operations.CreateIndexOperation
            {
                Name = "IX_A", Schema = "shop", Table = "T", Columns = ["A"]
            });

        Assert.Equal("shop.\"IX_A\"", Assert.IsType<DsqlJobMigrationCommand>(command[0]).QualifiedIndexName);
    }

    [Fact]
    public void Wait_sql_calls_the_wait_for_job_procedure_with_a_literal()
        => Assert.Equal("CALL sys.wait_for_job('77e6id3hjbasddybtihl43gega')", DsqlJobMigrationCommand.WaitSql("77e6id3hjbasddybtihl43gega"));
}

public class DsqlMigrationsOptionsTests
{
    [Fact]
    public void Options_configured_in_UseAuroraDsql_reach_the_migration_services()
    {
        using var context = new DbContext(EFCore.TestEndpoints.Options(o => o.WaitForMigrationJobs(false).MigrationLockLease(TimeSpan.FromMinutes(30))));

        var options = DsqlMigrationsOptions.Of(context.GetService<IDbContextOptions>());

        Assert.Equal(new DsqlMigrationsOptions { WaitForJobs = false, LockLease = TimeSpan.FromMinutes(30) }, options);
        Assert.Contains(
            "interval '1800 seconds'", ((DsqlHistoryRepository)context.GetService<IHistoryRepository>()).LockSql.RecordProgress("me", null, 0));
    }

    [Fact]
    public void A_context_without_the_dsql_extension_gets_the_default_migration_options()
        => Assert.Same(DsqlMigrationsOptions.Default, DsqlMigrationsOptions.Of(new DbContextOptionsBuilder().UseNpgsql("Host=localhost").Options));

    [Fact]
    public void Lock_retry_delay_must_be_positive()
        => Assert.Throws<ArgumentOutOfRangeException>(() => new DsqlMigrationsOptions { LockRetryMaxDelay = TimeSpan.Zero });
}
