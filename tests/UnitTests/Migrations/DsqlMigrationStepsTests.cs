#pragma warning disable EF1001 // The tests exercise the internal migration services directly.

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Npgsql;

namespace EFCore.Dsql.UnitTests.Migrations;

/// <summary>
///     Which generated steps a migrator that takes over may run again (not followed by a progress record), and which errors
///     of an uncertain step count as "it had committed".
/// </summary>
public class DsqlMigrationStepsTests
{
    [Fact]
    public void Creating_tables_indexes_columns_and_constraints_are_rerunnable_steps()
    {
        var commands = DsqlMigrationsTestContext.Generate(
            new EnsureSchemaOperation { Name = "s" },
            new CreateTableOperation
            {
                Name = "T", Schema = "s", Columns = { new AddColumnOperation { Name = "Id", Table = "T", Schema = "s", ClrType = typeof(long), ColumnType = "bigint" } },
                PrimaryKey = new AddPrimaryKeyOperation { Name = "PK_T", Table = "T", Schema = "s", Columns = ["Id"] }
            },
            new AddColumnOperation { Name = "Note", Table = "T", Schema = "s", ClrType = typeof(string), ColumnType = "text", IsNullable = true },
            new CreateIndexOperation { Name = "IX_T_Note", Table = "T", Schema = "s", Columns = ["Note"] },
            new AddCheckConstraintOperation { Name = "CK_T_Note", Table = "T", Schema = "s", Sql = "\"Note\" <> ''" });

        Assert.NotEmpty(commands);
        Assert.All(commands, c => Assert.True(DsqlMigrationSteps.IsRerunnable(c), c.CommandText));
    }

    [Fact]
    public void Drops_renames_and_raw_sql_are_recorded_around_because_running_them_again_is_not_harmless()
    {
        var commands = DsqlMigrationsTestContext.Generate(
            new DropColumnOperation { Name = "Note", Table = "T", Schema = "s" },
            new RenameColumnOperation { Name = "A", NewName = "B", Table = "T", Schema = "s" },
            new DropTableOperation { Name = "T", Schema = "s" },
            new SqlOperation { Sql = "UPDATE s.\"T\" SET \"N\" = \"N\" + 1", SuppressTransaction = true });

        Assert.Equal(4, commands.Count);
        Assert.All(commands, c => Assert.False(DsqlMigrationSteps.IsRerunnable(c), c.CommandText));
    }

    [Fact]
    public void Data_steps_are_never_rerunnable_and_never_taken_as_applied()
    {
        var insert = DsqlMigrationsTestContext.Generate(
            new InsertDataOperation { Table = "T", Schema = "s", Columns = ["Id"], ColumnTypes = ["bigint"], Values = new object?[,] { { 1L } } }).Single();

        Assert.False(insert.TransactionSuppressed);
        Assert.False(DsqlMigrationSteps.IsRerunnable(insert));
        Assert.False(DsqlMigrationSteps.IsAlreadyApplied(insert, Error(PostgresErrorCodes.UniqueViolation)));
    }

    [Fact]
    public void A_step_that_creates_counts_as_applied_only_on_already_exists_and_a_drop_only_on_does_not_exist()
    {
        var add = DsqlMigrationsTestContext.Generate(
            new AddColumnOperation { Name = "Note", Table = "T", Schema = "s", ClrType = typeof(string), ColumnType = "text", IsNullable = true }).Single();
        var drop = DsqlMigrationsTestContext.Generate(new DropColumnOperation { Name = "Note", Table = "T", Schema = "s" }).Single();

        Assert.True(DsqlMigrationSteps.IsAlreadyApplied(add, Error(PostgresErrorCodes.DuplicateColumn)));
        Assert.False(DsqlMigrationSteps.IsAlreadyApplied(add, Error(PostgresErrorCodes.UndefinedTable)));
        Assert.True(DsqlMigrationSteps.IsAlreadyApplied(drop, Error(PostgresErrorCodes.UndefinedColumn)));
        Assert.False(DsqlMigrationSteps.IsAlreadyApplied(drop, Error(PostgresErrorCodes.DuplicateColumn)));
        Assert.False(DsqlMigrationSteps.IsAlreadyApplied(add, Error(PostgresErrorCodes.SyntaxError)));
    }

    [Fact]
    public void Creating_tables_schemas_sequences_and_indexes_run_while_earlier_index_builds_are_pending_and_everything_else_waits()
    {
        var creating = DsqlMigrationsTestContext.Generate(
            new EnsureSchemaOperation { Name = "s" },
            new CreateSequenceOperation { Name = "Seq", Schema = "s", ClrType = typeof(long) },
            new CreateTableOperation
            {
                Name = "T", Schema = "s", Columns = { new AddColumnOperation { Name = "Id", Table = "T", Schema = "s", ClrType = typeof(long), ColumnType = "bigint" } },
                PrimaryKey = new AddPrimaryKeyOperation { Name = "PK_T", Table = "T", Schema = "s", Columns = ["Id"] }
            },
            new CreateIndexOperation { Name = "IX_T_Id", Table = "T", Schema = "s", Columns = ["Id"], IsUnique = true });
        var waiting = DsqlMigrationsTestContext.Generate(
            new AddColumnOperation { Name = "Note", Table = "T", Schema = "s", ClrType = typeof(string), ColumnType = "text", IsNullable = true },
            new DropIndexOperation { Name = "IX_T_Id", Table = "T", Schema = "s" },
            new DropTableOperation { Name = "T", Schema = "s" },
            new SqlOperation { Sql = "CREATE TABLE s.\"U\" (\"Id\" bigint PRIMARY KEY); CREATE TABLE s.\"V\" (\"Id\" bigint PRIMARY KEY)", SuppressTransaction = true },
            new InsertDataOperation { Table = "T", Schema = "s", Columns = ["Id"], ColumnTypes = ["bigint"], Values = new object?[,] { { 1L } } });

        Assert.Equal(4, creating.Count);
        Assert.Contains(creating, c => c is DsqlJobMigrationCommand);
        Assert.All(creating, c => Assert.True(DsqlMigrationSteps.MayRunWhileJobsArePending(c), c.CommandText));
        Assert.Equal(5, waiting.Count);
        Assert.All(waiting, c => Assert.False(DsqlMigrationSteps.MayRunWhileJobsArePending(c), c.CommandText));
    }

    private static PostgresException Error(string sqlState)
        => new("simulated", "ERROR", "ERROR", sqlState);
}
