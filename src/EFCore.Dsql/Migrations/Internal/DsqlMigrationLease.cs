using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     The migration lock held by one migrator: a lease row it renews after every statement it applies, together with the
///     progress of the migration being applied. Disposing gives the lease up.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed class DsqlMigrationLease : IMigrationsDatabaseLock
{
    private readonly IHistoryRepository _historyRepository;
    private readonly DsqlMigrationLockSql _sql;
    private readonly IRawSqlCommandBuilder _rawSqlCommandBuilder;
    private readonly RelationalCommandParameterObject _parameters;
    private bool _released;

    /// <summary>Creates the lease object for a lease just taken.</summary>
    public DsqlMigrationLease(
        IHistoryRepository historyRepository,
        DsqlMigrationLockSql sql,
        IRawSqlCommandBuilder rawSqlCommandBuilder,
        RelationalCommandParameterObject parameters,
        string holder,
        string? interruptedMigrationId,
        int interruptedStep)
    {
        _historyRepository = historyRepository;
        _sql = sql;
        _rawSqlCommandBuilder = rawSqlCommandBuilder;
        _parameters = parameters;
        Holder = holder;
        InterruptedMigrationId = interruptedMigrationId;
        InterruptedStep = interruptedStep;
    }

    /// <summary>This migrator's id in the lease row.</summary>
    public string Holder { get; }

    /// <summary>The migration a previous holder had started and not finished, if any.</summary>
    public string? InterruptedMigrationId { get; private set; }

    /// <summary>The index of the first command of <see cref="InterruptedMigrationId" /> not known to be committed.</summary>
    public int InterruptedStep { get; private set; }

    IHistoryRepository IMigrationsDatabaseLock.HistoryRepository => _historyRepository;

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
        => ThrowIfLost(_rawSqlCommandBuilder.Build(_sql.RecordProgress(Holder, migrationId, step)).ExecuteNonQuery(_parameters));

    /// <summary>Records that the commands before <paramref name="step" /> are committed, and renews the lease.</summary>
    public async Task RecordProgressAsync(string? migrationId, int step, CancellationToken cancellationToken)
        => ThrowIfLost(await _rawSqlCommandBuilder.Build(_sql.RecordProgress(Holder, migrationId, step))
            .ExecuteNonQueryAsync(_parameters, cancellationToken).ConfigureAwait(false));

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
            _rawSqlCommandBuilder.Build(_sql.Release(Holder)).ExecuteNonQuery(_parameters);
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
            await _rawSqlCommandBuilder.Build(_sql.Release(Holder)).ExecuteNonQueryAsync(_parameters).ConfigureAwait(false);
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
