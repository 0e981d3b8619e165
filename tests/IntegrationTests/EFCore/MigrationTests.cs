using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace EFCore.Dsql.IntegrationTests.EFCore;

/// <summary>Migrations up and down on the cluster, with asynchronous index builds awaited.</summary>
[Collection(ClusterCollection.Name)]
public sealed class MigrationTests(ClusterFixture fixture)
{
    [ClusterFact]
    public async Task Migrate_up_creates_the_tables_and_waits_for_each_async_index_build()
    {
        await using var context = LedgerContext.Create(fixture.DataSource);
        try
        {
            await context.Database.MigrateAsync();

            Assert.Equal(LedgerContext.MigrationIds, await context.Database.GetAppliedMigrationsAsync());
            Assert.True(await fixture.TableExistsAsync(ClusterFixture.Schema, "ledger_entries"));

            // MigrateAsync returned only after every CREATE INDEX ASYNC job finished: the indexes are valid now.
            Assert.Equal(2L, await fixture.ScalarAsync<long>(
                """
                SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = $1 AND c.relname IN ('IX_ledger_entries_AccountId', 'IX_ledger_entries_Reference') AND i.indisvalid
                """,
                ClusterFixture.Schema));

            // The unique index is in force.
            var account = await fixture.ScalarAsync<Guid>($"INSERT INTO {ClusterFixture.Schema}.ledger_accounts (\"Name\") VALUES ('cash') RETURNING \"Id\"");
            await fixture.ExecuteAsync($"INSERT INTO {ClusterFixture.Schema}.ledger_entries (\"AccountId\", \"Amount\", \"Reference\") VALUES ($1, 5, 'r-1')", account);
            var duplicate = await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
                fixture.ExecuteAsync($"INSERT INTO {ClusterFixture.Schema}.ledger_entries (\"AccountId\", \"Amount\", \"Reference\") VALUES ($1, 6, 'r-1')", account));
            Assert.Equal(Npgsql.PostgresErrorCodes.UniqueViolation, duplicate.SqlState);

            // Applying again finds nothing pending.
            await context.Database.MigrateAsync();
            Assert.Empty(await context.Database.GetPendingMigrationsAsync());
        }
        finally
        {
            await context.GetService<IMigrator>().MigrateAsync(Migration.InitialDatabase);
        }
    }

    [ClusterFact]
    public async Task Migrate_down_step_by_step_removes_what_each_migration_added()
    {
        await using var context = LedgerContext.Create(fixture.DataSource);
        var migrator = context.GetService<IMigrator>();
        try
        {
            await context.Database.MigrateAsync();

            await migrator.MigrateAsync(CreateLedger.Id);
            Assert.Equal([CreateLedger.Id], await context.Database.GetAppliedMigrationsAsync());
            Assert.Equal(0L, await fixture.ScalarAsync<long>(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'ledger_entries' AND column_name = 'Reference'",
                ClusterFixture.Schema));

            await migrator.MigrateAsync(Migration.InitialDatabase);
            Assert.Empty(await context.Database.GetAppliedMigrationsAsync());
            Assert.False(await fixture.TableExistsAsync(ClusterFixture.Schema, "ledger_entries"));
            Assert.False(await fixture.TableExistsAsync(ClusterFixture.Schema, "ledger_accounts"));
        }
        finally
        {
            await migrator.MigrateAsync(Migration.InitialDatabase);
        }
    }
}
