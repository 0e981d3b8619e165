using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     The migration lock held by one migrator: a lease row it renews after every statement it applies, together with the
///     progress of the migration being applied. Disposing gives the lease up.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
/// <param name="historyRepository">The history repository the lock belongs to.</param>
/// <param name="sql">The lease statements.</param>
/// <param name="rawSqlCommandBuilder">Builds the lease statements' commands.</param>
/// <param name="parameters">The connection, context and logger the lease statements run with.</param>
/// <param name="holder">This migrator's id in the lease row.</param>
/// <param name="interruptedMigrationId">The migration a previous holder had started and not finished, if any.</param>
/// <param name="interruptedStep">The index of the first command of that migration not known to be committed.</param>
public sealed class DsqlMigrationLease(
    IHistoryRepository historyRepository,
    DsqlMigrationLockSql sql,
    IRawSqlCommandBuilder rawSqlCommandBuilder,
    RelationalCommandParameterObject parameters,
    string holder,
    string? interruptedMigrationId,
    int interruptedStep) : IMigrationsDatabaseLock
{
    private bool _released;

    /// <summary>This migrator's id in the lease row.</summary>
    public string Holder { get; } = holder;

    /// <summary>The migration a previous holder had started and not finished, if any.</summary>
    public string? InterruptedMigrationId { get; private set; } = interruptedMigrationId;

    /// <summary>The index of the first command of <see cref="InterruptedMigrationId" /> not known to be committed.</summary>
    public int InterruptedStep { get; private set; } = interruptedStep;

    IHistoryRepository IMigrationsDatabaseLock.HistoryRepository => historyRepository;

    /// <summary>
    ///     Where to resume <paramref name="migrationId" /> when a previous holder was interrupted while applying it: the first
    ///     command not known to be committed. <see langword="null" /> when there is nothing to resume. Asked once.
    /// </summary>
    public int? TakeResumeStep(string? migrationId)
    {
        if (migrationId is null || migrationId != InterruptedMigrationId)
        {
            return null;
        }

        InterruptedMigrationId = null;
        return InterruptedStep;
    }

    /// <summary>Records that the commands before <paramref name="step" /> are committed, and renews the lease.</summary>
    public void RecordProgress(string? migrationId, int step)
        => ThrowIfLost(rawSqlCommandBuilder.Build(sql.RecordProgress(Holder, migrationId, step)).ExecuteNonQuery(parameters));

    /// <summary>Records that the commands before <paramref name="step" /> are committed, and renews the lease.</summary>
    public async Task RecordProgressAsync(string? migrationId, int step, CancellationToken cancellationToken)
        => ThrowIfLost(await rawSqlCommandBuilder.Build(sql.RecordProgress(Holder, migrationId, step))
            .ExecuteNonQueryAsync(parameters, cancellationToken).ConfigureAwait(false));

    /// <inheritdoc />
    public void Dispose()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        try
        {
            rawSqlCommandBuilder.Build(sql.Release(Holder)).ExecuteNonQuery(parameters);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException)
        {
            // The lease expires on its own; failing here would hide the exception that ended the migration.
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        try
        {
            await rawSqlCommandBuilder.Build(sql.Release(Holder)).ExecuteNonQueryAsync(parameters).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException)
        {
            // The lease expires on its own; failing here would hide the exception that ended the migration.
        }
    }

    private static void ThrowIfLost(int rows)
    {
        if (rows == 0)
        {
            throw new InvalidOperationException(
                "This migrator lost the Aurora DSQL migration lock: its lease expired while a statement ran and another migrator took "
                + "it over. Nothing is wrong with the database; run the migration again, and if single statements take longer than "
                + "the lease (index builds on large tables), configure a longer migration lock lease.");
        }
    }
}
