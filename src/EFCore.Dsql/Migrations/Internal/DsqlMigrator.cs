// Migrator is pubternal; overriding it is how providers adjust migration transactions (Npgsql does the same).
#pragma warning disable EF1001

using System.Data;
using Microsoft.EntityFrameworkCore.Migrations.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     The migrator for Aurora DSQL: transactions it opens use <c>REPEATABLE READ</c> (the only level DSQL has), and the
///     SQL generator learns (through the scoped <see cref="DsqlCurrentMigration" />) which migration it is generating so that
///     refusals can name it.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public class DsqlMigrator : Migrator
{
    private readonly DsqlCurrentMigration _currentMigration;
    private readonly IRawSqlCommandBuilder _rawSqlCommandBuilder;
    private readonly ICurrentDbContext _currentContext;

    /// <summary>Creates the migrator.</summary>
    public DsqlMigrator(
        IMigrationsAssembly migrationsAssembly,
        IHistoryRepository historyRepository,
        IDatabaseCreator databaseCreator,
        IMigrationsSqlGenerator migrationsSqlGenerator,
        IRawSqlCommandBuilder rawSqlCommandBuilder,
        IMigrationCommandExecutor migrationCommandExecutor,
        IRelationalConnection connection,
        ISqlGenerationHelper sqlGenerationHelper,
        ICurrentDbContext currentContext,
        IModelRuntimeInitializer modelRuntimeInitializer,
        IDiagnosticsLogger<DbLoggerCategory.Migrations> logger,
        IRelationalCommandDiagnosticsLogger commandLogger,
        IDatabaseProvider databaseProvider,
        IMigrationsModelDiffer migrationsModelDiffer,
        IDesignTimeModel designTimeModel,
        IDbContextOptions contextOptions,
        IExecutionStrategy executionStrategy,
        DsqlCurrentMigration currentMigration)
        : base(migrationsAssembly, historyRepository, databaseCreator, migrationsSqlGenerator, rawSqlCommandBuilder,
            migrationCommandExecutor, connection, sqlGenerationHelper, currentContext, modelRuntimeInitializer, logger,
            commandLogger, databaseProvider, migrationsModelDiffer, designTimeModel, contextOptions, executionStrategy)
    {
        _currentMigration = currentMigration;
        _rawSqlCommandBuilder = rawSqlCommandBuilder;
        _currentContext = currentContext;
    }

    /// <summary>DSQL runs every transaction as <c>REPEATABLE READ</c> and refuses Npgsql's default <c>READ COMMITTED</c>.</summary>
    protected override IsolationLevel? MigrationTransactionIsolationLevel
        => IsolationLevel.RepeatableRead;

    /// <inheritdoc />
    protected override IReadOnlyList<MigrationCommand> GenerateUpSql(
        Migration migration,
        MigrationsSqlGenerationOptions options = MigrationsSqlGenerationOptions.Default)
        => WithMigrationId(migration, () => MarkHistoryRow(base.GenerateUpSql(migration, options), removesRow: false));

    /// <inheritdoc />
    protected override IReadOnlyList<MigrationCommand> GenerateDownSql(
        Migration migration,
        Migration? previousMigration,
        MigrationsSqlGenerationOptions options = MigrationsSqlGenerationOptions.Default)
        => WithMigrationId(migration, () => MarkHistoryRow(base.GenerateDownSql(migration, previousMigration, options), removesRow: true));

    /// <summary>EF appends the history row's statement last; the executor needs to know it (it may run again harmlessly).</summary>
    private IReadOnlyList<MigrationCommand> MarkHistoryRow(IReadOnlyList<MigrationCommand> commands, bool removesRow)
    {
        var history = commands.Count > 0 ? commands[^1] : null;
        if (history is null || !history.CommandText.TrimStart().StartsWith(removesRow ? "DELETE FROM " : "INSERT INTO ", StringComparison.Ordinal))
        {
            return commands;
        }

        return
        [
            .. commands.Take(commands.Count - 1),
            new DsqlHistoryRowCommand(_rawSqlCommandBuilder.Build(history.CommandText), _currentContext.Context, history.CommandLogger,
                history.TransactionSuppressed, removesRow)
        ];
    }

    private IReadOnlyList<MigrationCommand> WithMigrationId(Migration migration, Func<IReadOnlyList<MigrationCommand>> generate)
    {
        using var _ = _currentMigration.Begin(migration.GetId());
        return generate();
    }
}
