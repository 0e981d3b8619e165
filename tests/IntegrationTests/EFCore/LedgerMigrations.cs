using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace EFCore.Dsql.IntegrationTests.EFCore;

/// <summary>
/// A context whose hand-written migrations (in the shape <c>dotnet ef migrations add</c> scaffolds) create two tables with
/// a foreign key and an index in the run's schema, where its history and lock tables live too.
/// </summary>
public sealed class LedgerContext(DbContextOptions<LedgerContext> options) : DbContext(options)
{
    /// <summary>The migration ids, in order.</summary>
    public static readonly string[] MigrationIds = [CreateLedger.Id, AddEntryReference.Id];

    /// <summary>A context over <paramref name="dataSource"/> with DSQL's migration services.</summary>
    public static LedgerContext Create(NpgsqlDataSource dataSource)
        => new(new DbContextOptionsBuilder<LedgerContext>()
            .UseAuroraDsql(dataSource, dsql => dsql.Npgsql(npgsql => npgsql.MigrationsHistoryTable("__EFMigrationsHistory", ClusterFixture.Schema)))
            // The migrations are hand-written without a model snapshot; nothing is pending in a model that has no entities.
            .ConfigureWarnings(w => w.Ignore(RelationalEventId.PendingModelChangesWarning))
            .Options);
}

/// <summary>Accounts and their entries, an index on the entries' account (built with <c>CREATE INDEX ASYNC</c>).</summary>
[DbContext(typeof(LedgerContext))]
[Migration(Id)]
public sealed class CreateLedger : Migration
{
    /// <summary>The migration id.</summary>
    public const string Id = "20260101000001_CreateLedger";

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        var schema = ClusterFixture.Schema;
        migrationBuilder.CreateTable(
            name: "ledger_accounts",
            schema: schema,
            columns: table => new
            {
                Id = table.Column<Guid>(type: "uuid", nullable: false, defaultValueSql: "gen_random_uuid()"),
                Name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false)
            },
            constraints: table => table.PrimaryKey("PK_ledger_accounts", x => x.Id));

        migrationBuilder.CreateTable(
            name: "ledger_entries",
            schema: schema,
            columns: table => new
            {
                Id = table.Column<Guid>(type: "uuid", nullable: false, defaultValueSql: "gen_random_uuid()"),
                AccountId = table.Column<Guid>(type: "uuid", nullable: false),
                Amount = table.Column<long>(type: "bigint", nullable: false)
            },
            constraints: table =>
            {
                table.PrimaryKey("PK_ledger_entries", x => x.Id);
                table.ForeignKey("FK_ledger_entries_ledger_accounts_AccountId", x => x.AccountId, principalSchema: schema, principalTable: "ledger_accounts", principalColumn: "Id");
            });

        migrationBuilder.CreateIndex(name: "IX_ledger_entries_AccountId", schema: schema, table: "ledger_entries", column: "AccountId");
    }

    /// <inheritdoc />
    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropTable(name: "ledger_entries", schema: ClusterFixture.Schema);
        migrationBuilder.DropTable(name: "ledger_accounts", schema: ClusterFixture.Schema);
    }
}

/// <summary>A nullable column on a table with rows, and a unique index on it.</summary>
[DbContext(typeof(LedgerContext))]
[Migration(Id)]
public sealed class AddEntryReference : Migration
{
    /// <summary>The migration id.</summary>
    public const string Id = "20260101000002_AddEntryReference";

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.AddColumn<string>(name: "Reference", schema: ClusterFixture.Schema, table: "ledger_entries", type: "text", nullable: true);
        migrationBuilder.CreateIndex(name: "IX_ledger_entries_Reference", schema: ClusterFixture.Schema, table: "ledger_entries", column: "Reference", unique: true);
    }

    /// <inheritdoc />
    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropIndex(name: "IX_ledger_entries_Reference", schema: ClusterFixture.Schema, table: "ledger_entries");
        migrationBuilder.DropColumn(name: "Reference", schema: ClusterFixture.Schema, table: "ledger_entries");
    }
}
