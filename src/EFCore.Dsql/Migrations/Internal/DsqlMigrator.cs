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
        => _currentMigration = currentMigration;

    /// <summary>DSQL runs every transaction as <c>REPEATABLE READ</c> and refuses Npgsql's default <c>READ COMMITTED</c>.</summary>
    protected override IsolationLevel? MigrationTransactionIsolationLevel
        => IsolationLevel.RepeatableRead;

    /// <inheritdoc />
    protected override IReadOnlyList<MigrationCommand> GenerateUpSql(
        Migration migration,
        MigrationsSqlGenerationOptions options = MigrationsSqlGenerationOptions.Default)
        => WithMigrationId(migration, () => base.GenerateUpSql(migration, options));

    /// <inheritdoc />
    protected override IReadOnlyList<MigrationCommand> GenerateDownSql(
        Migration migration,
        Migration? previousMigration,
        MigrationsSqlGenerationOptions options = MigrationsSqlGenerationOptions.Default)
        => WithMigrationId(migration, () => base.GenerateDownSql(migration, previousMigration, options));

    private IReadOnlyList<MigrationCommand> WithMigrationId(Migration migration, Func<IReadOnlyList<MigrationCommand>> generate)
    {
        using var _ = _currentMigration.Begin(migration.GetId());
        return generate();
    }
}
