#pragma warning disable EF1001 // The tests exercise the internal migration services directly.

using EFCore.Dsql.UnitTests.EFCore;

namespace EFCore.Dsql.UnitTests.Migrations;

public class DsqlMigratorScriptTests
{
    [Fact]
    public void Script_has_one_statement_per_batch_and_wraps_only_data_in_a_transaction()
    {
        using var context = new ScriptTestContext();

        var script = context.GetService<IMigrator>().GenerateScript().ReplaceLineEndings("\n");

        // The history table's script, asserted verbatim in DsqlHistoryRepositoryTests, comes first.
        var historyTable = context.GetService<IHistoryRepository>().GetCreateIfNotExistsScript().ReplaceLineEndings("\n");
        Assert.Equal(
            historyTable
            + """

            CREATE SCHEMA IF NOT EXISTS crm;

            CREATE TABLE crm."Contacts" (
                "Id" integer NOT NULL,
                "Name" text NOT NULL,
                CONSTRAINT "PK_Contacts" PRIMARY KEY ("Id")
            );

            CREATE INDEX ASYNC "IX_Contacts_Name" ON crm."Contacts" ("Name");

            START TRANSACTION;
            INSERT INTO crm."Contacts" ("Id", "Name")
            VALUES (1, 'Ann');

            COMMIT;


            """
            + "INSERT INTO \"__EFMigrationsHistory\" (\"MigrationId\", \"ProductVersion\")\nVALUES ('20260101000000_Contacts', '"
            + ProductInfo.GetVersion() + "');\n\n",
            script);
    }

    [Fact]
    public void Idempotent_script_guards_each_statement_with_psql_conditionals_and_has_no_do_block()
    {
        using var context = new ScriptTestContext();

        var script = context.GetService<IMigrator>().GenerateScript(options: MigrationsSqlGenerationOptions.Idempotent)
            .ReplaceLineEndings("\n");

        Assert.DoesNotContain("DO $", script);
        Assert.DoesNotContain("LOCK TABLE", script);
        Assert.DoesNotContain("PERFORM", script);
        Assert.Contains(
            """
            SELECT NOT EXISTS (SELECT 1 FROM "__EFMigrationsHistory" WHERE "MigrationId" = '20260101000000_Contacts') AS ef_apply \gset
            \if :ef_apply
                CREATE INDEX ASYNC "IX_Contacts_Name" ON crm."Contacts" ("Name");
            \endif
            """,
            script);
        Assert.Equal(5, script.Split("\\if :ef_apply").Length - 1);
        Assert.Equal(5, script.Split("\\endif").Length - 1);
    }

    private sealed class ScriptTestContext : DbContext
    {
        public ScriptTestContext()
            : base(TestEndpoints.Options<ScriptTestContext>())
        {
        }
    }

    [DbContext(typeof(ScriptTestContext))]
    [Migration("20260101000000_Contacts")]
    private sealed class ContactsMigration : Migration
    {
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.EnsureSchema("crm");
            migrationBuilder.CreateTable(
                name: "Contacts",
                schema: "crm",
                columns: table => new
                {
                    Id = table.Column<int>(type: "integer", nullable: false),
                    Name = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table => table.PrimaryKey("PK_Contacts", x => x.Id));
            migrationBuilder.CreateIndex(name: "IX_Contacts_Name", schema: "crm", table: "Contacts", column: "Name");
            migrationBuilder.InsertData(
                schema: "crm", table: "Contacts", columns: ["Id", "Name"], columnTypes: ["integer", "text"], values: new object[] { 1, "Ann" });
        }
    }
}
