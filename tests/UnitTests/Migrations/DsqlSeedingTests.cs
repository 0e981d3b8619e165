#pragma warning disable EF1001 // The tests exercise the internal migration services directly.

using EFCore.Dsql.UnitTests.EFCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations.Operations;

namespace EFCore.Dsql.UnitTests.Migrations;

public class DsqlSeedingTests
{
    [Fact]
    public void Seeding_identity_tables_bumps_each_sequence_in_a_data_command_of_its_own()
    {
        var commands = SeedContext.Generate(
            [
                new InsertDataOperation { Table = "Colors", Columns = ["Id", "Name"], Values = new object?[,] { { 1L, "red" } } },
                new InsertDataOperation { Table = "Sizes", Columns = ["Id", "Name"], Values = new object?[,] { { 1L, "S" } } }
            ]);

        Assert.Equal(
            [
                "INSERT INTO \"Colors\" (\"Id\", \"Name\")\nVALUES (1, 'red');\n",
                "INSERT INTO \"Sizes\" (\"Id\", \"Name\")\nVALUES (1, 'S');\n",
                "SELECT setval(pg_get_serial_sequence('\"Colors\"', 'Id'), GREATEST((SELECT MAX(\"Id\") FROM \"Colors\") + 1, nextval(pg_get_serial_sequence('\"Colors\"', 'Id'))), false);\n",
                "SELECT setval(pg_get_serial_sequence('\"Sizes\"', 'Id'), GREATEST((SELECT MAX(\"Id\") FROM \"Sizes\") + 1, nextval(pg_get_serial_sequence('\"Sizes\"', 'Id'))), false);\n"
            ],
            DsqlMigrationsTestContext.Sql(commands));
        Assert.All(commands, c => Assert.False(c.TransactionSuppressed));
    }

    [Fact]
    public void Backfill_with_the_target_model_runs_in_key_batches_under_the_row_limit()
    {
        var commands = SeedContext.Generate(
            new AddColumnOperation { Name = "Rank", Table = "Colors", ClrType = typeof(int), ColumnType = "integer", DefaultValue = 5 });

        var backfill = Assert.IsType<DsqlBackfillMigrationCommand>(commands[2]);
        Assert.Equal("UPDATE \"Colors\" SET \"Rank\" = 5 WHERE \"Rank\" IS NULL;\n", backfill.CommandText.ReplaceLineEndings("\n"));
        Assert.Equal(
            "UPDATE \"Colors\" SET \"Rank\" = 5 WHERE (\"Id\") IN (SELECT \"Id\" FROM \"Colors\" WHERE \"Rank\" IS NULL LIMIT 1000)",
            backfill.BatchSql);
        Assert.True(backfill.TransactionSuppressed);
    }

    private sealed class SeedContext : DbContext
    {
        public SeedContext()
            : base(TestEndpoints.Options<SeedContext>())
        {
        }

        /// <summary>Generates the commands for the operations against this context's model, as a migration to it would.</summary>
        public static IReadOnlyList<MigrationCommand> Generate(params MigrationOperation[] operations)
        {
            using var context = new SeedContext();
            return context.GetService<IMigrationsSqlGenerator>().Generate(operations, context.GetService<IDesignTimeModel>().Model);
        }

        protected override void OnModelCreating(ModelBuilder modelBuilder)
        {
            modelBuilder.Entity<Color>().ToTable("Colors").Property(c => c.Id).UseIdentityByDefaultColumn();
            modelBuilder.Entity<Size>().ToTable("Sizes").Property(c => c.Id).UseIdentityByDefaultColumn();
        }
    }

    private sealed class Color
    {
        public long Id { get; set; }

        public int Rank { get; set; }

        public string Name { get; set; } = "";
    }

    private sealed class Size
    {
        public long Id { get; set; }

        public string Name { get; set; } = "";
    }
}
