using System.Globalization;
using System.Text;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     Every migration operation Aurora DSQL cannot run, as data: one named factory per refusal, each building the message
///     from the migration (<see cref="DsqlCurrentMigration" />), the table, the column, what DSQL refuses and a recipe that
///     reaches the same goal. The migrations SQL generator throws these and writes no refusal text of its own.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice. Scoped.</remarks>
public sealed class DsqlMigrationRefusals(DsqlCurrentMigration currentMigration)
{
    // As the recipes print it: "3,000".
    private static string RowLimit => DsqlLimits.MaxRowsPerTransaction.ToString("N0", CultureInfo.InvariantCulture);

    // Migrations
    /// <summary>DSQL has one database; migrations cannot create or drop one.</summary>
    public NotSupportedException Database()
        => Create("creating or dropping a database; a DSQL cluster has exactly one database, 'postgres'", null, null, null,
            "Create a new cluster instead (AWS console, CLI or CloudFormation).");

    // Tables and keys
    /// <summary>DSQL tables are always durable.</summary>
    public NotSupportedException UnloggedTable(string? schema, string table)
        => Create("creating an UNLOGGED table", schema, table, null,
            "Remove IsUnlogged() from the entity's configuration; DSQL tables are always durable.");

    /// <summary>DSQL tables are always durable.</summary>
    public NotSupportedException LoggedSwitch(string? schema, string table)
        => Create("switching a table between LOGGED and UNLOGGED", schema, table, null,
            "Remove IsUnlogged() from the entity's configuration and from this migration.");

    // Columns
    /// <summary>DSQL refuses ADD COLUMN with an identity.</summary>
    public NotSupportedException AddIdentityColumn(string? schema, string table, string column)
        => Create("adding an identity or serial column to an existing table", schema, table, column,
            "DSQL refuses ADD COLUMN with an identity. Create a new table with the identity column in CREATE TABLE and copy the rows, "
            + "or use a Guid key or a sequence (HasDefaultValueSql(\"nextval('my_sequence')\") after CreateSequence).");

    /// <summary>DSQL refuses ADD COLUMN with a generation expression.</summary>
    public NotSupportedException AddComputedColumn(string? schema, string table, string column)
        => Create("adding a computed (generated) column to an existing table", schema, table, column,
            "DSQL refuses ADD COLUMN with a constraint or generation expression. Add a plain column and compute the value in the "
            + "application, or create a new table with the generated column and copy the rows.");

    /// <summary>DSQL has only the C collation.</summary>
    public NotSupportedException AddColumnWithCollation(string? schema, string table, string column)
        => Create("adding a column with a collation", schema, table, column,
            "DSQL supports only the C collation; remove UseCollation() from the property.");

    /// <summary>DSQL refuses ALTER COLUMN … TYPE.</summary>
    public NotSupportedException ChangeColumnType(string? schema, string table, string column, string? oldType, string? type)
        => Create($"changing a column's type from '{oldType}' to '{type}'", schema, table, column,
            "DSQL refuses ALTER COLUMN … TYPE. Recipe: add a new column of the new type (AddColumn), copy the values with "
            + $"migrationBuilder.Sql(\"UPDATE … SET new = old::newtype\") in batches under {RowLimit} rows, drop the old column "
            + "(DropColumn) and rename the new one (RenameColumn) — as separate operations, in one migration or several.");

    /// <summary>DSQL has only the C collation.</summary>
    public NotSupportedException ChangeColumnCollation(string? schema, string table, string column)
        => Create("changing a column's collation", schema, table, column,
            "DSQL supports only the C collation; remove UseCollation() from the property and from this migration.");

    /// <summary>DSQL cannot change a generation expression.</summary>
    public NotSupportedException ChangeComputedExpression(string? schema, string table, string column)
        => Create("changing a column's computed (generated) expression", schema, table, column,
            "Drop the column (DropColumn) and add it again in a new table, or compute the value in the application.");

    /// <summary>DSQL controls compression itself.</summary>
    public NotSupportedException ChangeCompressionMethod(string? schema, string table, string column)
        => Create("changing a column's compression method", schema, table, column,
            "DSQL controls compression with STORAGE; remove UseCompressionMethod() from the property.");

    /// <summary>DSQL cannot add or remove an identity on an existing column.</summary>
    public NotSupportedException ChangeValueGeneration(string? schema, string table, string column, NpgsqlValueGenerationStrategy? oldStrategy, NpgsqlValueGenerationStrategy? newStrategy)
        => Create($"changing a column's value generation from '{oldStrategy?.ToString() ?? "none"}' to "
            + $"'{newStrategy?.ToString() ?? "none"}'", schema, table, column,
            "DSQL cannot add an identity to an existing column. Create a new table with the identity column and copy the rows, "
            + "or keep the current value generation.");

    /// <summary>DSQL has no serial types.</summary>
    public NotSupportedException SerialColumn(string? schema, string table, string column)
        => Create("creating a serial column", schema, table, column,
            "DSQL has no serial types. Use an identity column (UseIdentityByDefaultColumn() on a long property) or a Guid key.");

    /// <summary>DSQL identity columns are bigint.</summary>
    public NotSupportedException NonBigintIdentity(string? schema, string table, string column, string? columnType)
        => Create($"creating an identity column of type '{columnType}'", schema, table, column,
            "DSQL identity columns must be bigint: map the property as long (or HasColumnType(\"bigint\")), or use a Guid key.");

    /// <summary>DSQL has only the C collation.</summary>
    public NotSupportedException ColumnWithCollation(string? schema, string table, string column)
        => Create("creating a column with a collation", schema, table, column,
            "DSQL supports only the C collation; remove UseCollation() from the property.");

    // Tables and keys
    /// <summary>A DSQL table gets its primary key in CREATE TABLE only.</summary>
    public NotSupportedException AddPrimaryKey(string? schema, string table, string name, string[] columns)
        => Create($"adding the primary key '{name}' to an existing table", schema, table, string.Join(", ", columns),
            "A DSQL table gets its primary key in CREATE TABLE only. Recipe: create a new table with the new key (CreateTable), "
            + $"copy the rows with migrationBuilder.Sql(\"INSERT INTO new SELECT … FROM old\") in batches under {RowLimit} rows, "
            + "drop the old table and rename the new one.");

    /// <summary>DSQL adds unique constraints to existing tables only over a completed unique index.</summary>
    public NotSupportedException AddUniqueConstraint(string? schema, string table, string name, string[] columns)
        => Create($"adding the unique constraint '{name}' (an alternate key) to an existing table", schema, table, string.Join(", ", columns),
            "Recipe: use a unique index instead of an alternate key (HasIndex(…).IsUnique() rather than HasAlternateKey(…)); "
            + "EF generates CREATE UNIQUE INDEX ASYNC for it. If a constraint is required, create the unique index in one "
            + "migration and add it with migrationBuilder.Sql(\"ALTER TABLE … ADD CONSTRAINT … UNIQUE USING INDEX …\") in a later "
            + "one, after the index build completed.");

    // Indexes
    /// <summary>DSQL has only btree indexes.</summary>
    public NotSupportedException IndexMethod(string? schema, string table, string name, string[] columns, string method)
        => Create($"creating the index '{name}' with method '{method}'", schema, table, string.Join(", ", columns),
            "DSQL supports only btree indexes; remove HasMethod() from the index.");

    /// <summary>A DSQL index has a limited number of key columns.</summary>
    public NotSupportedException TooManyIndexColumns(string? schema, string table, string name, string[] columns)
        => Create($"creating the index '{name}' over {columns.Length} columns", schema, table, string.Join(", ", columns),
            $"A DSQL index has at most {DsqlLimits.MaxIndexKeyColumns} key columns; move the others to IncludeProperties() "
            + "or split the index.");

    /// <summary>DSQL has no GIN indexes or tsvector.</summary>
    public NotSupportedException FullTextIndex(string? schema, string table, string name, string[] columns)
        => Create($"creating the full-text index '{name}'", schema, table, string.Join(", ", columns),
            "DSQL has no GIN indexes or tsvector; remove IsTsVectorExpressionIndex() from the index.");

    /// <summary>DSQL index columns take only NULLS FIRST/LAST.</summary>
    public NotSupportedException IndexColumnOptions(string? schema, string table, string name, string[] columns)
        => Create($"creating the index '{name}' with a sort order, collation or operator class", schema, table, string.Join(", ", columns),
            "DSQL index columns take only NULLS FIRST/LAST; remove IsDescending(), UseCollation() and "
            + "HasOperators() from the index.");

    // Sequences, types, extensions and collations
    /// <summary>DSQL sequences are bigint.</summary>
    public NotSupportedException NonBigintSequence(string? schema, string name, Type clrType)
        => Create($"creating the sequence '{name}' of type '{clrType.Name}'", schema, null, null,
            "DSQL sequences are bigint only: declare it with modelBuilder.HasSequence<long>(…).");

    /// <summary>DSQL has no extensions.</summary>
    public NotSupportedException Extension(string? schema, string name)
        => Create($"creating the PostgreSQL extension '{name}'", schema, null, null,
            "DSQL does not support extensions; remove HasPostgresExtension() from the model.");

    /// <summary>DSQL has no user-defined types.</summary>
    public NotSupportedException CreateEnum(string? schema, string name)
        => Create($"creating the enum type '{name}'", schema, null, null,
            "DSQL does not support user-defined types; remove HasPostgresEnum() and store the enum as text (HasConversion<string>()) "
            + "or as an integer.");

    /// <summary>DSQL has no user-defined types.</summary>
    public NotSupportedException DropEnum(string? schema, string name)
        => Create($"dropping the enum type '{name}'", schema, null, null,
            "DSQL does not support user-defined types; remove HasPostgresEnum() from the model and from this migration.");

    /// <summary>DSQL has no user-defined types.</summary>
    public NotSupportedException AlterEnum(string? schema, string name)
        => Create($"altering the enum type '{name}'", schema, null, null,
            "DSQL does not support user-defined types; store the enum as text or as an integer.");

    /// <summary>DSQL has no range types.</summary>
    public NotSupportedException CreateRange(string? schema, string name)
        => Create($"creating the range type '{name}'", schema, null, null,
            "DSQL does not support range types; remove HasPostgresRange() from the model.");

    /// <summary>DSQL has no range types.</summary>
    public NotSupportedException DropRange(string? schema, string name)
        => Create($"dropping the range type '{name}'", schema, null, null,
            "DSQL does not support range types; remove HasPostgresRange() from the model and from this migration.");

    /// <summary>DSQL has only the C collation.</summary>
    public NotSupportedException CreateCollation(string? schema, string name)
        => Create($"creating the collation '{name}'", schema, null, null,
            "DSQL supports only the C collation; remove HasCollation() from the model.");

    /// <summary>DSQL has only the C collation.</summary>
    public NotSupportedException DropCollation(string? schema, string name)
        => Create($"dropping the collation '{name}'", schema, null, null,
            "DSQL supports only the C collation; remove HasCollation() from the model and from this migration.");

    // Tables and keys
    /// <summary>DSQL manages storage itself.</summary>
    public NotSupportedException StorageParameter(string? schema, string? table, string parameter)
        => Create($"setting the storage parameter '{parameter}'", schema, table, null,
            "DSQL manages storage itself; remove HasStorageParameter() from the model.");

    // Columns
    /// <summary>DSQL accepts CACHE 1 or at least 65536.</summary>
    public NotSupportedException InvalidCache(string? schema, string? table, string? column, string what, long cache)
        => Create($"giving {what} CACHE {cache}", schema, table, column,
            $"DSQL accepts CACHE 1 or CACHE {DsqlLimits.SmallestLargeCache} and above; change the numbersToCache argument of HasIdentityOptions().");

    private NotSupportedException Create(string what, string? schema, string? table, string? column, string recipe)
    {
        var message = new StringBuilder("Aurora DSQL cannot run this migration operation: ")
            .Append(what)
            .Append(" (migration '")
            .Append(currentMigration.Id ?? "<not known: SQL generated outside the migrator>")
            .Append('\'');

        if (table is not null)
        {
            message.Append(", table '").Append(schema is null ? table : schema + "." + table).Append('\'');
        }

        if (column is not null)
        {
            message.Append(", column '").Append(column).Append('\'');
        }

        message.Append("). ").Append(recipe);
        return new NotSupportedException(message.ToString());
    }
}
