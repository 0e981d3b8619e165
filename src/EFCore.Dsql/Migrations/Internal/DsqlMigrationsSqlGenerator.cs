// Npgsql's annotation names and identity options are pubternal; provider extensions use them as Npgsql's own plugins do.
#pragma warning disable EF1001

using System.Globalization;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Migrations.Operations;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     Generates migration SQL that Aurora DSQL accepts: one statement per command, DDL always outside a transaction,
///     indexes built with <c>CREATE INDEX ASYNC</c>, constraints on existing tables added <c>NOT VALID</c> and
///     validated by an asynchronous job, schemas without PL/pgSQL, identities and sequences with a valid <c>CACHE</c>.
///     What DSQL cannot do is refused while the SQL is generated, naming the migration, the table, the column and a recipe.
/// </summary>
/// <remarks>
///     Data statements (seed data) end their command without suppressing the transaction, so that consecutive data
///     statements commit together, and never together with DDL. This is an internal API that supports the EFCore.Dsql
///     infrastructure and may change without notice.
/// </remarks>
public class DsqlMigrationsSqlGenerator : NpgsqlMigrationsSqlGenerator
{
    private readonly IRawSqlCommandBuilder _rawSqlCommandBuilder;
    private readonly DsqlMigrationRefusals _refusals;
    private readonly RelationalTypeMapping _stringTypeMapping;
    private readonly List<(int Command, string? QualifiedIndexName)> _jobCommandIndexes = [];
    private readonly List<(int Command, string BatchSql)> _backfillCommands = [];
    private bool _generatingData;

    /// <summary>Creates the generator.</summary>
    public DsqlMigrationsSqlGenerator(
        MigrationsSqlGeneratorDependencies dependencies,
        INpgsqlSingletonOptions npgsqlSingletonOptions,
        IRawSqlCommandBuilder rawSqlCommandBuilder,
        DsqlCurrentMigration currentMigration)
        : base(dependencies, npgsqlSingletonOptions)
    {
        _rawSqlCommandBuilder = rawSqlCommandBuilder;
        _refusals = new DsqlMigrationRefusals(currentMigration);
        _stringTypeMapping = dependencies.TypeMappingSource.GetMapping(typeof(string));
    }

    /// <inheritdoc />
    public override IReadOnlyList<MigrationCommand> Generate(
        IReadOnlyList<MigrationOperation> operations,
        IModel? model = null,
        MigrationsSqlGenerationOptions options = MigrationsSqlGenerationOptions.Default)
    {
        _jobCommandIndexes.Clear();
        _backfillCommands.Clear();

        // Npgsql wraps statements in PL/pgSQL (PERFORM, DO) for idempotent scripts; DSQL has no PL/pgSQL, and idempotent
        // scripts guard each migration with psql's \if instead (DsqlHistoryRepository), so the statements stay plain SQL.
        var commands = base.Generate(operations, model, options & ~MigrationsSqlGenerationOptions.Idempotent);

        // After seeding identity columns Npgsql appends one command that bumps every seeded identity's sequence; give each
        // bump a command of its own (one statement per command).
        var seededIdentities = SeededIdentityColumns(operations, model);
        if (seededIdentities.Length > 0 && commands.Count > 0
            && commands[^1].CommandText.StartsWith("SELECT setval(", StringComparison.Ordinal))
        {
            commands = [.. commands.Take(commands.Count - 1), .. seededIdentities.Select(SequenceBump)];
        }

        if (_jobCommandIndexes.Count == 0 && _backfillCommands.Count == 0)
        {
            return commands;
        }

        var result = commands.ToArray();
        foreach (var (index, batchSql) in _backfillCommands)
        {
            var command = result[index];
            result[index] = new DsqlBackfillMigrationCommand(
                Dependencies.CommandBuilderFactory.Create().Append(command.CommandText).Build(),
                Dependencies.CurrentContext.Context,
                command.CommandLogger,
                _rawSqlCommandBuilder,
                batchSql);
        }

        _backfillCommands.Clear();
        foreach (var (index, qualifiedIndexName) in _jobCommandIndexes)
        {
            var command = result[index];
            result[index] = new DsqlJobMigrationCommand(
                Dependencies.CommandBuilderFactory.Create().Append(command.CommandText).Build(),
                Dependencies.CurrentContext.Context,
                command.CommandLogger,
                _rawSqlCommandBuilder,
                qualifiedIndexName);
        }

        _jobCommandIndexes.Clear();
        return result;
    }

    /// <summary>The identity columns of the tables <paramref name="operations" /> seed: the columns Npgsql bumps the sequence of.</summary>
    private static IColumn[] SeededIdentityColumns(IReadOnlyList<MigrationOperation> operations, IModel? model)
        => model is null
            ? []
            : operations
                .OfType<InsertDataOperation>()
                .Select(o => (o.Schema, o.Table))
                .Distinct()
                .SelectMany(t => model.GetRelationalModel().FindTable(t.Table, t.Schema)?.Columns
                        .Where(c => c.PropertyMappings.Any(p => p.Property.GetValueGenerationStrategy() is
                            NpgsqlValueGenerationStrategy.IdentityByDefaultColumn or NpgsqlValueGenerationStrategy.IdentityAlwaysColumn
                            or NpgsqlValueGenerationStrategy.SerialColumn))
                    ?? [])
                .Distinct()
                .ToArray();

    /// <summary>Moves a seeded identity's sequence past the seeded values (Npgsql's statement, as a data command of its own).</summary>
    private MigrationCommand SequenceBump(IColumn column)
    {
        var table = DelimitIdentifier(column.Table.Name, column.Table.Schema);
        var delimitedColumn = DelimitIdentifier(column.Name);
        var sequence = $"pg_get_serial_sequence('{table.Replace("'", "''", StringComparison.Ordinal)}', "
            + $"'{column.Name.Replace("'", "''", StringComparison.Ordinal)}')";
        var builder = new MigrationCommandListBuilder(Dependencies);
        builder.AppendLine(
            $"SELECT setval({sequence}, GREATEST((SELECT MAX({delimitedColumn}) FROM {table}) + 1, nextval({sequence})), false);");
        builder.EndCommand();
        return builder.GetCommandList()[0];
    }

    /// <summary>
    ///     Every DDL command runs on its own, outside any transaction: DSQL allows one DDL statement per transaction. Data
    ///     commands keep the transaction, so that consecutive ones commit together.
    /// </summary>
    protected override void EndStatement(MigrationCommandListBuilder builder, bool suppressTransaction = false)
        => builder.EndCommand(suppressTransaction: !_generatingData);

    /// <inheritdoc />
    protected override void Generate(MigrationOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        switch (operation)
        {
            case NpgsqlCreateDatabaseOperation:
            case NpgsqlDropDatabaseOperation:
                throw _refusals.Database();
            default:
                base.Generate(operation, model, builder);
                break;
        }
    }

    #region Schemas and tables

    /// <summary><c>CREATE SCHEMA IF NOT EXISTS</c>: Npgsql's <c>DO</c> block needs PL/pgSQL, which DSQL does not have.</summary>
    protected override void Generate(EnsureSchemaOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        if (operation.Name == "public")
        {
            return;
        }

        builder
            .Append("CREATE SCHEMA IF NOT EXISTS ")
            .Append(DelimitIdentifier(operation.Name))
            .AppendLine(";");
        EndStatement(builder);
    }

    /// <summary>
    ///     <c>CREATE TABLE</c> with its keys, unique and check constraints and foreign keys inline; comments follow as
    ///     commands of their own.
    /// </summary>
    protected override void Generate(
        CreateTableOperation operation,
        IModel? model,
        MigrationCommandListBuilder builder,
        bool terminate = true)
    {
        if (operation[NpgsqlAnnotationNames.UnloggedTable] is true)
        {
            throw _refusals.UnloggedTable(operation.Schema, operation.Name);
        }

        RefuseStorageParameters(operation, operation.Schema, operation.Name);

        // xmin, ctid and friends are system columns, never created (Npgsql does the same).
        operation.Columns.RemoveAll(c => DsqlLimits.IsSystemColumn(c.Name));

        builder
            .Append("CREATE TABLE ")
            .Append(DelimitIdentifier(operation.Name, operation.Schema))
            .AppendLine(" (");

        using (builder.Indent())
        {
            CreateTableColumns(operation, model, builder);
            CreateTableConstraints(operation, model, builder);
            builder.AppendLine();
        }

        builder.Append(")");

        if (!terminate)
        {
            if (operation.Comment is not null || operation.Columns.Any(c => c.Comment is not null))
            {
                throw new ArgumentException(DsqlStrings.UnterminatedCreateTableWithComments);
            }

            return;
        }

        builder.AppendLine(";");
        EndStatement(builder);

        if (operation.Comment is not null)
        {
            CommentOnTable(operation.Schema, operation.Name, operation.Comment, builder);
        }

        foreach (var column in operation.Columns.Where(c => c.Comment is not null))
        {
            CommentOnColumn(operation.Schema, operation.Name, column.Name, column.Comment, builder);
        }
    }

    /// <summary>Table comments; DSQL has no unlogged tables and no storage parameters to change.</summary>
    protected override void Generate(AlterTableOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        if ((operation.OldTable[NpgsqlAnnotationNames.UnloggedTable] is true) != (operation[NpgsqlAnnotationNames.UnloggedTable] is true))
        {
            throw _refusals.LoggedSwitch(operation.Schema, operation.Name);
        }

        RefuseStorageParameters(operation, operation.Schema, operation.Name);
        RefuseStorageParameters(operation.OldTable, operation.Schema, operation.Name);

        if (operation.Comment != operation.OldTable.Comment)
        {
            CommentOnTable(operation.Schema, operation.Name, operation.Comment, builder);
        }
    }

    /// <summary>Renaming and moving a table are two statements, hence two commands.</summary>
    protected override void Generate(RenameTableOperation operation, IModel? model, MigrationCommandListBuilder builder)
        => RenameAndMove(operation.Schema, operation.Name, operation.NewSchema, operation.NewName, "TABLE", builder);

    #endregion

    #region Columns

    /// <summary>
    ///     DSQL refuses <c>ADD COLUMN</c> with any constraint (<c>NOT NULL</c>, <c>DEFAULT</c>, identity). The column is
    ///     added bare, then its default is set, existing rows are back-filled with it (a data statement of its own), and a
    ///     required column gets a <c>CHECK (column IS NOT NULL)</c> constraint, added <c>NOT VALID</c> and validated by a job.
    /// </summary>
    protected override void Generate(
        AddColumnOperation operation,
        IModel? model,
        MigrationCommandListBuilder builder,
        bool terminate = true)
    {
        if (DsqlLimits.IsSystemColumn(operation.Name))
        {
            return;
        }

        if (!terminate)
        {
            throw new ArgumentException(DsqlStrings.UnterminatedAddColumn);
        }

        if (operation[NpgsqlAnnotationNames.ValueGenerationStrategy] is NpgsqlValueGenerationStrategy strategy
            && strategy != NpgsqlValueGenerationStrategy.None && strategy != NpgsqlValueGenerationStrategy.Sequence
            && strategy != NpgsqlValueGenerationStrategy.SequenceHiLo)
        {
            throw _refusals.AddIdentityColumn(operation.Schema, operation.Table, operation.Name);
        }

        if (operation.ComputedColumnSql is not null)
        {
            throw _refusals.AddComputedColumn(operation.Schema, operation.Table, operation.Name);
        }

        if (operation.Collation is not null)
        {
            throw _refusals.AddColumnWithCollation(operation.Schema, operation.Table, operation.Name);
        }

        var table = DelimitIdentifier(operation.Table, operation.Schema);
        var column = DelimitIdentifier(operation.Name);
        var columnType = operation.ColumnType ?? GetColumnType(operation.Schema, operation.Table, operation.Name, operation, model)!;

        builder
            .Append("ALTER TABLE ")
            .Append(table)
            .Append(" ADD COLUMN ")
            .Append(column)
            .Append(" ")
            .Append(columnType)
            .AppendLine(";");
        EndStatement(builder);

        if (operation.DefaultValue is not null || operation.DefaultValueSql is not null)
        {
            builder.Append("ALTER TABLE ").Append(table).Append(" ALTER COLUMN ").Append(column).Append(" SET");
            DefaultValue(operation.DefaultValue, operation.DefaultValueSql, columnType, builder);
            builder.AppendLine(";");
            EndStatement(builder);

            // PostgreSQL's ADD COLUMN … DEFAULT fills the existing rows; reach the same state with a data statement.
            Backfill(operation.Schema, operation.Table, operation.Name,
                DefaultValueSql(operation.DefaultValue, operation.DefaultValueSql, columnType), model, builder);
        }

        if (!operation.IsNullable)
        {
            AddNotNullCheck(operation.Schema, operation.Table, operation.Name, builder);
        }

        if (operation.Comment is not null)
        {
            CommentOnColumn(operation.Schema, operation.Table, operation.Name, operation.Comment, builder);
        }
    }

    /// <summary>
    ///     The column changes DSQL can make: nullability (through the <c>NOT NULL</c> check constraint), defaults, comments
    ///     and identity sequence options. Type, collation, computation and value-generation changes are refused with a recipe.
    /// </summary>
    protected override void Generate(AlterColumnOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        if (DsqlLimits.IsSystemColumn(operation.Name))
        {
            return;
        }

        var old = operation.OldColumn;
        var type = operation.ColumnType ?? GetColumnType(operation.Schema, operation.Table, operation.Name, operation, model)!;
        var oldType = old.ColumnType
            ?? (IsOldColumnSupported(model) ? GetColumnType(operation.Schema, operation.Table, operation.Name, old, model) : null);

        if (oldType is not null && !string.Equals(type, oldType, StringComparison.OrdinalIgnoreCase))
        {
            throw _refusals.ChangeColumnType(operation.Schema, operation.Table, operation.Name, oldType, type);
        }

        if (operation.Collation != old.Collation)
        {
            throw _refusals.ChangeColumnCollation(operation.Schema, operation.Table, operation.Name);
        }

        if (operation.ComputedColumnSql != old.ComputedColumnSql || operation.IsStored != old.IsStored)
        {
            throw _refusals.ChangeComputedExpression(operation.Schema, operation.Table, operation.Name);
        }

        if (!Equals(operation[NpgsqlAnnotationNames.CompressionMethod], old[NpgsqlAnnotationNames.CompressionMethod]))
        {
            throw _refusals.ChangeCompressionMethod(operation.Schema, operation.Table, operation.Name);
        }

        var oldStrategy = old[NpgsqlAnnotationNames.ValueGenerationStrategy] as NpgsqlValueGenerationStrategy?;
        var newStrategy = operation[NpgsqlAnnotationNames.ValueGenerationStrategy] as NpgsqlValueGenerationStrategy?;
        if (IsIdentityOrSerial(oldStrategy) != IsIdentityOrSerial(newStrategy)
            || oldStrategy is NpgsqlValueGenerationStrategy.SerialColumn || newStrategy is NpgsqlValueGenerationStrategy.SerialColumn)
        {
            throw _refusals.ChangeValueGeneration(operation.Schema, operation.Table, operation.Name, oldStrategy, newStrategy);
        }

        var table = DelimitIdentifier(operation.Table, operation.Schema);
        var alterColumn = $"ALTER TABLE {table} ALTER COLUMN {DelimitIdentifier(operation.Name)} ";

        if (IsIdentity(newStrategy))
        {
            if (oldStrategy != newStrategy)
            {
                AppendSingle(builder, alterColumn + (newStrategy == NpgsqlValueGenerationStrategy.IdentityAlwaysColumn
                    ? "SET GENERATED ALWAYS"
                    : "SET GENERATED BY DEFAULT"));
            }

            AlterIdentityOptions(operation, alterColumn, builder);
        }
        else if (operation.DefaultValueSql != old.DefaultValueSql || !Equals(operation.DefaultValue, old.DefaultValue))
        {
            if (operation.DefaultValue is null && operation.DefaultValueSql is null)
            {
                AppendSingle(builder, alterColumn + "DROP DEFAULT");
            }
            else
            {
                builder.Append(alterColumn).Append("SET");
                DefaultValue(operation.DefaultValue, operation.DefaultValueSql, type, builder);
                builder.AppendLine(";");
                EndStatement(builder);
            }
        }

        if (operation is { IsNullable: true, OldColumn.IsNullable: false })
        {
            // A column created NOT NULL by CREATE TABLE, or required through the check constraint added by AddColumn.
            AppendSingle(builder, alterColumn + "DROP NOT NULL");
            AppendSingle(builder, $"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS "
                + DelimitIdentifier(NotNullCheckName(operation.Table, operation.Name)));
        }
        else if (operation is { IsNullable: false, OldColumn.IsNullable: true })
        {
            // DSQL has no SET NOT NULL; fill the nulls with the default, then enforce with a validated check constraint.
            if (operation.DefaultValue is not null || operation.DefaultValueSql is not null)
            {
                Backfill(operation.Schema, operation.Table, operation.Name,
                    DefaultValueSql(operation.DefaultValue, operation.DefaultValueSql, type), model, builder);
            }

            AddNotNullCheck(operation.Schema, operation.Table, operation.Name, builder);
        }

        if (operation.Comment != old.Comment)
        {
            CommentOnColumn(operation.Schema, operation.Table, operation.Name, operation.Comment, builder);
        }
    }

    /// <summary>The name of the check constraint that makes a column added to an existing table required.</summary>
    internal static string NotNullCheckName(string table, string column)
        => $"CK_{table}_{column}_NotNull";

    private void AddNotNullCheck(string? schema, string table, string column, MigrationCommandListBuilder builder)
    {
        var constraint = NotNullCheckName(table, column);
        AppendSingle(builder, $"ALTER TABLE {DelimitIdentifier(table, schema)} ADD CONSTRAINT {DelimitIdentifier(constraint)} "
            + $"CHECK ({DelimitIdentifier(column)} IS NOT NULL) NOT VALID");
        ValidateConstraint(schema, table, constraint, builder);
    }

    private void AlterIdentityOptions(AlterColumnOperation operation, string alterColumn, MigrationCommandListBuilder builder)
    {
        var newOptions = IdentitySequenceOptionsData.Get(operation);
        var oldOptions = IdentitySequenceOptionsData.Get(operation.OldColumn);

        if (newOptions.StartValue != oldOptions.StartValue)
        {
            AppendSingle(builder, alterColumn + "RESTART WITH " + (newOptions.StartValue ?? 1).ToString(CultureInfo.InvariantCulture));
        }

        if (newOptions.IncrementBy != oldOptions.IncrementBy)
        {
            AppendSingle(builder, alterColumn + "SET INCREMENT BY " + newOptions.IncrementBy.ToString(CultureInfo.InvariantCulture));
        }

        if (newOptions.MinValue != oldOptions.MinValue)
        {
            AppendSingle(builder, alterColumn + (newOptions.MinValue is { } min
                ? "SET MINVALUE " + min.ToString(CultureInfo.InvariantCulture)
                : "SET NO MINVALUE"));
        }

        if (newOptions.MaxValue != oldOptions.MaxValue)
        {
            AppendSingle(builder, alterColumn + (newOptions.MaxValue is { } max
                ? "SET MAXVALUE " + max.ToString(CultureInfo.InvariantCulture)
                : "SET NO MAXVALUE"));
        }

        if (newOptions.IsCyclic != oldOptions.IsCyclic)
        {
            AppendSingle(builder, alterColumn + (newOptions.IsCyclic ? "SET CYCLE" : "SET NO CYCLE"));
        }

        if (newOptions.NumbersToCache != oldOptions.NumbersToCache)
        {
            var cache = ValidCache(newOptions.NumbersToCache, "an identity column", operation.Schema, operation.Table, operation.Name);
            AppendSingle(builder, alterColumn + "SET CACHE " + cache.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Identity columns: <c>bigint</c> only, and always an explicit <c>CACHE</c> of 1 or at least 65,536.</summary>
    protected override void ColumnDefinition(
        string? schema,
        string table,
        string name,
        ColumnOperation operation,
        IModel? model,
        MigrationCommandListBuilder builder)
    {
        var strategy = operation[NpgsqlAnnotationNames.ValueGenerationStrategy] as NpgsqlValueGenerationStrategy?;
        if (strategy is NpgsqlValueGenerationStrategy.SerialColumn)
        {
            throw _refusals.SerialColumn(schema, table, name);
        }

        if (IsIdentity(strategy))
        {
            var columnType = operation.ColumnType ?? GetColumnType(schema, table, name, operation, model)!;
            if (columnType is not ("bigint" or "int8"))
            {
                throw _refusals.NonBigintIdentity(schema, table, name, columnType);
            }
        }

        if (operation.Collation is not null)
        {
            throw _refusals.ColumnWithCollation(schema, table, name);
        }

        base.ColumnDefinition(schema, table, name, operation, model, builder);
    }

    /// <summary>Writes the identity clause with every option DSQL needs, <c>CACHE</c> included even when it is 1.</summary>
    protected override void IdentityDefinition(ColumnOperation operation, MigrationCommandListBuilder builder)
    {
        if (operation[NpgsqlAnnotationNames.ValueGenerationStrategy] is not NpgsqlValueGenerationStrategy strategy || !IsIdentity(strategy))
        {
            return;
        }

        builder.Append(strategy == NpgsqlValueGenerationStrategy.IdentityByDefaultColumn
            ? " GENERATED BY DEFAULT AS IDENTITY ("
            : " GENERATED ALWAYS AS IDENTITY (");

        var options = IdentitySequenceOptionsData.Get(operation);
        var table = (operation as AddColumnOperation)?.Table ?? (operation as AlterColumnOperation)?.Table;
        if (options.StartValue is { } start && start != (options.IncrementBy > 0 ? options.MinValue ?? 1 : options.MaxValue ?? -1))
        {
            builder.Append("START WITH ").Append(start.ToString(CultureInfo.InvariantCulture)).Append(" ");
        }

        if (options.IncrementBy != 1)
        {
            builder.Append("INCREMENT BY ").Append(options.IncrementBy.ToString(CultureInfo.InvariantCulture)).Append(" ");
        }

        if (options.MinValue is { } min)
        {
            builder.Append("MINVALUE ").Append(min.ToString(CultureInfo.InvariantCulture)).Append(" ");
        }

        if (options.MaxValue is { } max)
        {
            builder.Append("MAXVALUE ").Append(max.ToString(CultureInfo.InvariantCulture)).Append(" ");
        }

        if (options.IsCyclic)
        {
            builder.Append("CYCLE ");
        }

        var column = (operation as AddColumnOperation)?.Name ?? (operation as AlterColumnOperation)?.Name;
        var cache = ValidCache(options.NumbersToCache, "an identity column", null, table, column);
        builder.Append("CACHE ").Append(cache.ToString(CultureInfo.InvariantCulture)).Append(")");
    }

    #endregion

    #region Constraints

    /// <summary>
    ///     On an existing table DSQL takes a foreign key only <c>NOT VALID</c>; an asynchronous job then validates the
    ///     existing rows (<c>ALTER TABLE ASYNC … VALIDATE CONSTRAINT</c>).
    /// </summary>
    protected override void Generate(
        AddForeignKeyOperation operation,
        IModel? model,
        MigrationCommandListBuilder builder,
        bool terminate = true)
    {
        base.Generate(operation, model, builder, terminate: false);
        if (terminate)
        {
            builder.AppendLine(" NOT VALID;");
            EndStatement(builder);
            ValidateConstraint(operation.Schema, operation.Table, operation.Name, builder);
        }
    }

    /// <summary>Check constraints on an existing table: <c>NOT VALID</c>, then validated by an asynchronous job.</summary>
    protected override void Generate(
        AddCheckConstraintOperation operation,
        IModel? model,
        MigrationCommandListBuilder builder)
    {
        builder
            .Append("ALTER TABLE ")
            .Append(DelimitIdentifier(operation.Table, operation.Schema))
            .Append(" ADD ");
        CheckConstraint(operation, model, builder);
        builder.AppendLine(" NOT VALID;");
        EndStatement(builder);
        ValidateConstraint(operation.Schema, operation.Table, operation.Name, builder);
    }

    /// <summary>DSQL cannot add a primary key to an existing table.</summary>
    protected override void Generate(
        AddPrimaryKeyOperation operation,
        IModel? model,
        MigrationCommandListBuilder builder,
        bool terminate = true)
        => throw _refusals.AddPrimaryKey(operation.Schema, operation.Table, operation.Name, operation.Columns);

    /// <summary>DSQL cannot add a unique constraint to an existing table, except over a completed unique index.</summary>
    protected override void Generate(
        AddUniqueConstraintOperation operation,
        IModel? model,
        MigrationCommandListBuilder builder)
        => throw _refusals.AddUniqueConstraint(operation.Schema, operation.Table, operation.Name, operation.Columns);

    private void ValidateConstraint(string? schema, string table, string constraint, MigrationCommandListBuilder builder)
    {
        builder
            .Append("ALTER TABLE ASYNC ")
            .Append(DelimitIdentifier(table, schema))
            .Append(" VALIDATE CONSTRAINT ")
            .Append(DelimitIdentifier(constraint))
            .AppendLine(";");
        EndJobStatement(builder);
    }

    #endregion

    #region Indexes

    /// <summary>
    ///     <c>CREATE [UNIQUE] INDEX ASYNC</c>, btree only, at most eight key columns, no sort order or collation; DSQL
    ///     answers with the id of the build job, which the migrator waits for.
    /// </summary>
    protected override void Generate(
        CreateIndexOperation operation,
        IModel? model,
        MigrationCommandListBuilder builder,
        bool terminate = true)
    {
        if (operation[NpgsqlAnnotationNames.IndexMethod] is string { Length: > 0 } method && method != "btree")
        {
            throw _refusals.IndexMethod(operation.Schema, operation.Table, operation.Name, operation.Columns, method);
        }

        if (operation.Columns.Length > DsqlLimits.MaxIndexKeyColumns)
        {
            throw _refusals.TooManyIndexColumns(operation.Schema, operation.Table, operation.Name, operation.Columns);
        }

        if (operation[NpgsqlAnnotationNames.TsVectorConfig] is not null)
        {
            throw _refusals.FullTextIndex(operation.Schema, operation.Table, operation.Name, operation.Columns);
        }

        if (operation.IsDescending is { } descending && descending.Any(d => d)
            || operation[RelationalAnnotationNames.Collation] is not null
            || operation[NpgsqlAnnotationNames.IndexOperators] is not null)
        {
            throw _refusals.IndexColumnOptions(operation.Schema, operation.Table, operation.Name, operation.Columns);
        }

        RefuseStorageParameters(operation, operation.Schema, operation.Table);

        builder
            .Append(operation.IsUnique ? "CREATE UNIQUE INDEX ASYNC " : "CREATE INDEX ASYNC ")
            // DSQL refuses a schema-qualified index name; the index lives in its table's schema.
            .Append(DelimitIdentifier(operation.Name))
            .Append(" ON ")
            .Append(DelimitIdentifier(operation.Table, operation.Schema))
            .Append(" (")
            .Append(IndexColumns(operation))
            .Append(")");

        IndexOptions(operation, model, builder);

        if (terminate)
        {
            builder.AppendLine(";");
            EndJobStatement(builder, DelimitIdentifier(operation.Name, operation.Schema));
        }
    }

    private string IndexColumns(CreateIndexOperation operation)
    {
        var nullSortOrder = operation[NpgsqlAnnotationNames.IndexNullSortOrder] as NullSortOrder[];
        return string.Join(", ", operation.Columns.Select((column, i) =>
            DelimitIdentifier(column) + (nullSortOrder is not null && i < nullSortOrder.Length
                ? nullSortOrder[i] switch
                {
                    NullSortOrder.NullsFirst => " NULLS FIRST",
                    NullSortOrder.NullsLast => " NULLS LAST",
                    _ => ""
                }
                : "")));
    }

    /// <summary>Renaming and moving a sequence are two statements, hence two commands.</summary>
    protected override void Generate(RenameSequenceOperation operation, IModel? model, MigrationCommandListBuilder builder)
        => RenameAndMove(operation.Schema, operation.Name, operation.NewSchema, operation.NewName, "SEQUENCE", builder);

    // Renaming and moving are separate statements on DSQL, so each is a command of its own.
    private void RenameAndMove(string? schema, string name, string? newSchema, string? newName, string kind, MigrationCommandListBuilder builder)
    {
        if (newName is not null && newName != name)
        {
            Rename(schema, name, newName, kind, builder);
            EndStatement(builder);
            name = newName;
        }

        if (newSchema is not null && newSchema != schema)
        {
            Transfer(newSchema, schema, name, kind, builder);
            EndStatement(builder);
        }
    }

    #endregion

    #region Sequences

    /// <summary><c>CREATE SEQUENCE</c> as <c>bigint</c> with an explicit <c>CACHE 1</c>, the only small cache DSQL accepts.</summary>
    protected override void Generate(CreateSequenceOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        if (operation.ClrType != typeof(long))
        {
            throw _refusals.NonBigintSequence(operation.Schema, operation.Name, operation.ClrType);
        }

        base.Generate(operation, model, builder);
    }

    /// <inheritdoc />
    protected override void SequenceOptions(
        string? schema,
        string name,
        SequenceOperation operation,
        IModel? model,
        MigrationCommandListBuilder builder,
        bool forAlter)
    {
        base.SequenceOptions(schema, name, operation, model, builder, forAlter);
        if (!forAlter)
        {
            // EF's sequence model has no cache size; DSQL requires one, and CACHE 1 keeps EF's gap-free semantics.
            builder.Append(" CACHE 1");
        }
    }

    /// <summary>Setting the start value and restarting a sequence are two statements.</summary>
    protected override void Generate(RestartSequenceOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        var sequence = DelimitIdentifier(operation.Name, operation.Schema);
        if (operation.StartValue is { } start)
        {
            AppendSingle(builder, $"ALTER SEQUENCE {sequence} START WITH {start.ToString(CultureInfo.InvariantCulture)}");
        }

        AppendSingle(builder, $"ALTER SEQUENCE {sequence} RESTART");
    }

    #endregion

    #region Data

    /// <summary>One command per row; data commands are not transaction-suppressed, so a seed commits as one transaction.</summary>
    protected override void Generate(
        InsertDataOperation operation,
        IModel? model,
        MigrationCommandListBuilder builder,
        bool terminate = true)
    {
        if (!terminate)
        {
            base.Generate(operation, model, builder, terminate);
            return;
        }

        foreach (var single in OnePerRow(operation, operation.Values, row => new InsertDataOperation
        {
            Schema = operation.Schema, Table = operation.Table,
            Columns = operation.Columns, ColumnTypes = operation.ColumnTypes, Values = row(operation.Values)
        }))
        {
            base.Generate(single, model, builder, terminate: true);
        }
    }

    /// <summary>One command per row.</summary>
    protected override void Generate(UpdateDataOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        foreach (var single in OnePerRow(operation, operation.KeyValues, row => new UpdateDataOperation
        {
            Schema = operation.Schema, Table = operation.Table,
            KeyColumns = operation.KeyColumns, KeyColumnTypes = operation.KeyColumnTypes, KeyValues = row(operation.KeyValues),
            Columns = operation.Columns, ColumnTypes = operation.ColumnTypes, Values = row(operation.Values)
        }))
        {
            GenerateData(() => base.Generate(single, model, builder));
        }
    }

    /// <summary>One command per row.</summary>
    protected override void Generate(DeleteDataOperation operation, IModel? model, MigrationCommandListBuilder builder)
    {
        foreach (var single in OnePerRow(operation, operation.KeyValues, row => new DeleteDataOperation
        {
            Schema = operation.Schema, Table = operation.Table,
            KeyColumns = operation.KeyColumns, KeyColumnTypes = operation.KeyColumnTypes, KeyValues = row(operation.KeyValues)
        }))
        {
            GenerateData(() => base.Generate(single, model, builder));
        }
    }

    /// <summary>
    ///     Splits a data operation into one operation per row of <paramref name="rows" /> (a one-row operation stays as it is):
    ///     <paramref name="create" /> builds the row's operation from a function that cuts that row out of any of the
    ///     operation's value arrays; the annotations are copied here.
    /// </summary>
    private static IEnumerable<TOperation> OnePerRow<TOperation>(
        TOperation operation, object?[,] rows, Func<Func<object?[,], object?[,]>, TOperation> create)
        where TOperation : MigrationOperation
    {
        if (rows.GetLength(0) <= 1)
        {
            yield return operation;
            yield break;
        }

        for (var row = 0; row < rows.GetLength(0); row++)
        {
            var index = row;
            var single = create(values => Row(values, index));
            single.AddAnnotations(operation.GetAnnotations());
            yield return single;
        }
    }

    private void GenerateData(Action generate)
    {
        _generatingData = true;
        try
        {
            generate();
        }
        finally
        {
            _generatingData = false;
        }
    }

    private static object?[,] Row(object?[,] values, int row)
    {
        var result = new object?[1, values.GetLength(1)];
        for (var column = 0; column < values.GetLength(1); column++)
        {
            result[0, column] = values[row, column];
        }

        return result;
    }

    /// <summary>
    ///     Fills the column's nulls with its default, as PostgreSQL's <c>ADD COLUMN … DEFAULT</c> does. With the target model
    ///     the table's key is known and the migrator fills in batches under DSQL's row limit, each autocommitted; without it
    ///     the update is one data statement in a transaction of its own.
    /// </summary>
    private void Backfill(string? schema, string tableName, string columnName, string value, IModel? model, MigrationCommandListBuilder builder)
    {
        var table = DelimitIdentifier(tableName, schema);
        var column = DelimitIdentifier(columnName);
        builder.AppendLine($"UPDATE {table} SET {column} = {value} WHERE {column} IS NULL;");

        var key = model?.GetRelationalModel().FindTable(tableName, schema)?.PrimaryKey?.Columns;
        if (key is not { Count: > 0 })
        {
            builder.EndCommand();
            return;
        }

        var keyList = string.Join(", ", key.Select(c => DelimitIdentifier(c.Name)));
        _backfillCommands.Add((builder.GetCommandList().Count,
            $"UPDATE {table} SET {column} = {value} WHERE ({keyList}) IN "
            + $"(SELECT {keyList} FROM {table} WHERE {column} IS NULL LIMIT {DsqlBackfillMigrationCommand.BatchSize})"));
        builder.EndCommand(suppressTransaction: true);
    }

    #endregion

    #region PostgreSQL features DSQL does not have

    /// <inheritdoc />
    protected override void GenerateCreateExtension(PostgresExtension extension, IModel? model, MigrationCommandListBuilder builder)
        => throw _refusals.Extension(extension.Schema, extension.Name);

    /// <inheritdoc />
    protected override void GenerateCreateEnum(PostgresEnum enumType, IModel? model, MigrationCommandListBuilder builder)
        => throw _refusals.CreateEnum(enumType.Schema, enumType.Name);

    /// <inheritdoc />
    protected override void GenerateDropEnum(PostgresEnum enumType, IModel? model, MigrationCommandListBuilder builder)
        => throw _refusals.DropEnum(enumType.Schema, enumType.Name);

    /// <inheritdoc />
    protected override void GenerateAddEnumLabel(
        PostgresEnum enumType,
        string addedLabel,
        string? beforeLabel,
        string? afterLabel,
        IModel? model,
        MigrationCommandListBuilder builder)
        => throw _refusals.AlterEnum(enumType.Schema, enumType.Name);

    /// <inheritdoc />
    protected override void GenerateCreateRange(PostgresRange rangeType, IModel? model, MigrationCommandListBuilder builder)
        => throw _refusals.CreateRange(rangeType.Schema, rangeType.Name);

    /// <inheritdoc />
    protected override void GenerateDropRange(PostgresRange rangeType, IModel? model, MigrationCommandListBuilder builder)
        => throw _refusals.DropRange(rangeType.Schema, rangeType.Name);

    /// <inheritdoc />
    protected override void GenerateCreateCollation(PostgresCollation collation, IModel? model, MigrationCommandListBuilder builder)
        => throw _refusals.CreateCollation(collation.Schema, collation.Name);

    /// <inheritdoc />
    protected override void GenerateDropCollation(PostgresCollation collation, IModel? model, MigrationCommandListBuilder builder)
        => throw _refusals.DropCollation(collation.Schema, collation.Name);

    private void RefuseStorageParameters(IReadOnlyAnnotatable annotatable, string? schema, string? table)
    {
        if (annotatable.GetAnnotations().FirstOrDefault(a => a.Name.StartsWith(NpgsqlAnnotationNames.StorageParameterPrefix, StringComparison.Ordinal))
            is { } parameter)
        {
            throw _refusals.StorageParameter(schema, table, parameter.Name[NpgsqlAnnotationNames.StorageParameterPrefix.Length..]);
        }
    }

    #endregion

    #region Helpers

    private void CommentOnTable(string? schema, string table, string? comment, MigrationCommandListBuilder builder)
        => AppendSingle(builder, $"COMMENT ON TABLE {DelimitIdentifier(table, schema)} IS {_stringTypeMapping.GenerateSqlLiteral(comment)}");

    private void CommentOnColumn(string? schema, string table, string column, string? comment, MigrationCommandListBuilder builder)
        => AppendSingle(builder,
            $"COMMENT ON COLUMN {DelimitIdentifier(table, schema)}.{DelimitIdentifier(column)} IS {_stringTypeMapping.GenerateSqlLiteral(comment)}");

    private void AppendSingle(MigrationCommandListBuilder builder, string statement)
    {
        builder.Append(statement).AppendLine(";");
        EndStatement(builder);
    }

    /// <summary>
    ///     Ends a command whose statement starts an asynchronous DSQL job; it becomes a <see cref="DsqlJobMigrationCommand" />.
    ///     For an index build, <paramref name="qualifiedIndexName" /> lets a resumed migration check the index it finds.
    /// </summary>
    private void EndJobStatement(MigrationCommandListBuilder builder, string? qualifiedIndexName = null)
    {
        _jobCommandIndexes.Add((builder.GetCommandList().Count, qualifiedIndexName));
        EndStatement(builder);
    }

    private string DefaultValueSql(object? defaultValue, string? defaultValueSql, string columnType)
    {
        if (defaultValueSql is not null)
        {
            return defaultValueSql;
        }

        var mapping = Dependencies.TypeMappingSource.FindMapping(defaultValue!.GetType(), columnType)
            ?? Dependencies.TypeMappingSource.GetMappingForValue(defaultValue);
        return mapping.GenerateSqlLiteral(columnType is "jsonb" or "json" && defaultValue is "" ? "{}" : defaultValue);
    }

    private long ValidCache(long cache, string what, string? schema, string? table, string? column)
        => DsqlLimits.IsValidCache(cache)
            ? cache
            : throw _refusals.InvalidCache(schema, table, column, what, cache);


    private string DelimitIdentifier(string identifier)
        => Dependencies.SqlGenerationHelper.DelimitIdentifier(identifier);

    private string DelimitIdentifier(string name, string? schema)
        => Dependencies.SqlGenerationHelper.DelimitIdentifier(name, schema);

    private static bool IsIdentity(NpgsqlValueGenerationStrategy? strategy)
        => strategy is NpgsqlValueGenerationStrategy.IdentityByDefaultColumn or NpgsqlValueGenerationStrategy.IdentityAlwaysColumn;

    private static bool IsIdentityOrSerial(NpgsqlValueGenerationStrategy? strategy)
        => IsIdentity(strategy) || strategy is NpgsqlValueGenerationStrategy.SerialColumn;

    #endregion
}
