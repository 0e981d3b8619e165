// NpgsqlHistoryRepository is pubternal; subclassing it keeps Npgsql's history table shape and error handling.
#pragma warning disable EF1001

using System.Data.Common;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Migrations.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     The migrations history on Aurora DSQL: the history table is created one statement at a time without <c>DO</c>
///     blocks, the migration lock is a lease row (DSQL has no <c>LOCK TABLE</c> and no advisory locks), and idempotent
///     scripts guard each migration with psql's <c>\if</c> instead of PL/pgSQL.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public class DsqlHistoryRepository : NpgsqlHistoryRepository, IHistoryRepository
{
    private readonly DsqlMigrationsOptions _options;

    /// <summary>Creates the repository.</summary>
    public DsqlHistoryRepository(HistoryRepositoryDependencies dependencies)
        : base(dependencies)
    {
        _options = DsqlMigrationsOptions.Of(dependencies.Options);
        LockSql = new DsqlMigrationLockSql(
            SqlGenerationHelper.DelimitIdentifier(DsqlMigrationLockSql.DefaultTableName, TableSchema),
            SqlGenerationHelper.DelimitIdentifier("PK_" + DsqlMigrationLockSql.DefaultTableName),
            _options.LockLease);
    }

    /// <summary>The statements of the lease-row lock.</summary>
    internal DsqlMigrationLockSql LockSql { get; }

    /// <summary>The lock is released explicitly by the lease, not by a transaction or a connection.</summary>
    public override LockReleaseBehavior LockReleaseBehavior => LockReleaseBehavior.Explicit;

    /// <inheritdoc />
    public override IMigrationsDatabaseLock AcquireDatabaseLock()
    {
        Dependencies.MigrationsLogger.AcquiringMigrationLock();
        var holder = NewHolder();
        if (Dependencies.Connection.CurrentTransaction is not null)
        {
            var sent = Stopwatch.GetTimestamp();
            using var reader = Dependencies.RawSqlCommandBuilder.Build(LockSql.Acquire(holder)).ExecuteReader(Parameters());
            return reader.Read() ? NewLease(holder, sent, reader.DbDataReader) : throw LockBusyInTransaction();
        }

        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                EnsureLockTable();
                var sent = Stopwatch.GetTimestamp();
                using var reader = Dependencies.RawSqlCommandBuilder.Build(LockSql.Acquire(holder)).ExecuteReader(Parameters());
                if (reader.Read())
                {
                    return NewLease(holder, sent, reader.DbDataReader);
                }
            }
            catch (DbException e) when (IsContention(e))
            {
                // Another migrator created the table or took the lease at the same moment: try again.
            }

            Thread.Sleep(delay);
            delay = NextDelay(delay);
        }
    }

    /// <inheritdoc />
    public override async Task<IMigrationsDatabaseLock> AcquireDatabaseLockAsync(CancellationToken cancellationToken = default)
    {
        Dependencies.MigrationsLogger.AcquiringMigrationLock();
        var holder = NewHolder();
        if (Dependencies.Connection.CurrentTransaction is not null)
        {
            var sent = Stopwatch.GetTimestamp();
            var transactionReader = await Dependencies.RawSqlCommandBuilder.Build(LockSql.Acquire(holder))
                .ExecuteReaderAsync(Parameters(), cancellationToken).ConfigureAwait(false);
            await using (transactionReader.ConfigureAwait(false))
            {
                return await transactionReader.ReadAsync(cancellationToken).ConfigureAwait(false)
                    ? NewLease(holder, sent, transactionReader.DbDataReader, renewInBackground: false)
                    : throw LockBusyInTransaction();
            }
        }

        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await EnsureLockTableAsync(cancellationToken).ConfigureAwait(false);
                var sent = Stopwatch.GetTimestamp();
                var reader = await Dependencies.RawSqlCommandBuilder.Build(LockSql.Acquire(holder))
                    .ExecuteReaderAsync(Parameters(), cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        return NewLease(holder, sent, reader.DbDataReader);
                    }
                }
            }
            catch (DbException e) when (IsContention(e))
            {
                // Another migrator created the table or took the lease at the same moment: try again.
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = NextDelay(delay);
        }
    }

    bool IHistoryRepository.CreateIfNotExists()
    {
        try
        {
            return Dependencies.MigrationCommandExecutor.ExecuteNonQuery(
                    GetCreateIfNotExistsCommands(), Dependencies.Connection, new MigrationExecutionState(), commitTransaction: true)
                != 0;
        }
        catch (PostgresException e) when (IsAlreadyCreated(e))
        {
            return false;
        }
    }

    async Task<bool> IHistoryRepository.CreateIfNotExistsAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await Dependencies.MigrationCommandExecutor.ExecuteNonQueryAsync(
                    GetCreateIfNotExistsCommands(), Dependencies.Connection, new MigrationExecutionState(), commitTransaction: true,
                    cancellationToken: cancellationToken).ConfigureAwait(false)
                != 0;
        }
        catch (PostgresException e) when (IsAlreadyCreated(e))
        {
            return false;
        }
    }

    /// <summary>The history table's statements, each its own command, <c>CREATE TABLE IF NOT EXISTS</c>.</summary>
    private IReadOnlyList<MigrationCommand> GetCreateIfNotExistsCommands()
        => Dependencies.MigrationsSqlGenerator.Generate(
            GetCreateCommands()
                .Select(c => new SqlOperation { Sql = IfNotExists(c.CommandText) })
                .ToList());

    /// <inheritdoc />
    public override string GetCreateIfNotExistsScript()
        => string.Concat(GetCreateCommands().Select(c => IfNotExists(c.CommandText)));

    /// <summary>
    ///     Starts a psql conditional that applies the migration only when it is not in the history. DSQL has no PL/pgSQL, so
    ///     the guard is evaluated by psql (<c>\gset</c> stores the answer, <c>\if</c> tests it); each statement still runs on
    ///     its own, as DSQL requires.
    /// </summary>
    public override string GetBeginIfNotExistsScript(string migrationId)
        => $"""
            SELECT NOT EXISTS (SELECT 1 FROM {SqlGenerationHelper.DelimitIdentifier(TableName, TableSchema)} WHERE {SqlGenerationHelper.DelimitIdentifier(MigrationIdColumnName)} = '{migrationId.Replace("'", "''", StringComparison.Ordinal)}') AS ef_apply \gset
            \if :ef_apply
            """;

    /// <summary>Starts a psql conditional that reverts the migration only when it is in the history.</summary>
    public override string GetBeginIfExistsScript(string migrationId)
        => $"""
            SELECT EXISTS (SELECT 1 FROM {SqlGenerationHelper.DelimitIdentifier(TableName, TableSchema)} WHERE {SqlGenerationHelper.DelimitIdentifier(MigrationIdColumnName)} = '{migrationId.Replace("'", "''", StringComparison.Ordinal)}') AS ef_apply \gset
            \if :ef_apply
            """;

    /// <summary>Ends the psql conditional.</summary>
    public override string GetEndIfScript()
        => """
            \endif

            """;

    private static string IfNotExists(string createCommand)
        => createCommand.StartsWith("CREATE TABLE ", StringComparison.Ordinal)
            ? "CREATE TABLE IF NOT EXISTS " + createCommand["CREATE TABLE ".Length..]
            : createCommand;

    private void EnsureLockTable()
    {
        if (NeedsSchema)
        {
            Dependencies.RawSqlCommandBuilder.Build(CreateSchemaSql).ExecuteNonQuery(Parameters());
        }

        Dependencies.RawSqlCommandBuilder.Build(LockSql.CreateTableIfNotExists).ExecuteNonQuery(Parameters());
    }

    private async Task EnsureLockTableAsync(CancellationToken cancellationToken)
    {
        if (NeedsSchema)
        {
            await Dependencies.RawSqlCommandBuilder.Build(CreateSchemaSql).ExecuteNonQueryAsync(Parameters(), cancellationToken)
                .ConfigureAwait(false);
        }

        await Dependencies.RawSqlCommandBuilder.Build(LockSql.CreateTableIfNotExists).ExecuteNonQueryAsync(Parameters(), cancellationToken)
            .ConfigureAwait(false);
    }

    private bool NeedsSchema
        => TableSchema is not null && TableSchema != "public";

    private string CreateSchemaSql
        => $"CREATE SCHEMA IF NOT EXISTS {SqlGenerationHelper.DelimitIdentifier(TableSchema!)};";

    private DsqlMigrationLease NewLease(string holder, long sent, DbDataReader progress, bool renewInBackground = true)
        => new DsqlMigrationLease(
            this, LockSql, Dependencies.RawSqlCommandBuilder, Parameters(), holder, _options.LockLease, sent, renewInBackground,
            progress.IsDBNull(0) ? null : progress.GetString(0),
            progress.IsDBNull(1) ? 0 : progress.GetInt32(1)).StartRenewing();

    private RelationalCommandParameterObject Parameters()
        => new(Dependencies.Connection, null, null, Dependencies.CurrentContext.Context, Dependencies.CommandLogger,
            CommandSource.Migrations);

    private TimeSpan NextDelay(TimeSpan delay)
    {
        var doubled = delay * 2;
        return doubled > _options.LockRetryMaxDelay ? _options.LockRetryMaxDelay : doubled;
    }

    /// <summary>
    ///     EF re-acquires the lock inside the migration's transaction when its execution strategy retries a migration. A
    ///     snapshot never sees the lease freed, so waiting there would never end: one attempt, then this error.
    /// </summary>
    private static InvalidOperationException LockBusyInTransaction()
        => new("Another migrator took the Aurora DSQL migration lock while this one was retrying after an error. Run the "
            + "migration again once the other migrator finished; it resumes where this one stopped.");

    private static string NewHolder()
        => Guid.NewGuid().ToString("N");

    /// <summary>Races between migrators: an OCC conflict (40001), or a concurrent creation of the lock table.</summary>
    private static bool IsContention(DbException e)
        => e is PostgresException { SqlState: PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.UniqueViolation
            or PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.DuplicateObject or PostgresErrorCodes.UndefinedTable };

    private static bool IsAlreadyCreated(PostgresException e)
        => e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.DuplicateObject;
}
