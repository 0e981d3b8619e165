using System.Data.Common;
using System.Diagnostics;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     The migration lock held by one migrator: a lease row, together with the progress of the migration being applied.
///     The lease is renewed in the background (on a connection of its own, every third of the lease) so that it outlives
///     long statements and index-build waits; the migrator calls <see cref="EnsureHeld" /> before each statement, which stops
///     a migrator that lost the lease before it runs anything more. Disposing gives the lease up.
/// </summary>
/// <remarks>
///     <para>
///         Fencing: a renewal sent at local time <c>t</c> that touched the row keeps the lease until at least <c>t + lease</c>
///         (the server computes the expiry after it received the statement), so the lease is known to be held until then.
///         <see cref="EnsureHeld" /> lets a statement start only while at least half of that time is left, renewing
///         synchronously (one round trip) otherwise, and refuses once a renewal found the row taken over. DSQL forbids DDL
///         and DML in one transaction, so a DDL statement cannot check the row itself: what remains is a statement that
///         starts with half a lease left and commits more than half a lease later (a stall of the process or the network
///         that long).
///     </para>
///     <para>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</para>
/// </remarks>
/// <param name="historyRepository">The history repository that took the lease.</param>
/// <param name="sql">The lease statements.</param>
/// <param name="rawSqlCommandBuilder">Builds the statements the migration connection runs.</param>
/// <param name="parameters">The migration connection, context and logger the lease statements run with.</param>
/// <param name="holder">This migrator's id in the lease row.</param>
/// <param name="lease">How long the lease lasts without renewal.</param>
/// <param name="acquiredAt">The <see cref="Stopwatch" /> timestamp taken just before the statement that took the lease was sent.</param>
/// <param name="renewInBackground">
///     Whether to renew on a connection of its own; not for a lease taken inside a transaction, which other sessions see only
///     once it commits.
/// </param>
/// <param name="interruptedMigrationId">The migration a previous holder had started and not finished, if any.</param>
/// <param name="interruptedStep">Where that migration's progress stopped.</param>
public sealed class DsqlMigrationLease(
    IHistoryRepository historyRepository,
    DsqlMigrationLockSql sql,
    IRawSqlCommandBuilder rawSqlCommandBuilder,
    RelationalCommandParameterObject parameters,
    string holder,
    TimeSpan lease,
    long acquiredAt,
    bool renewInBackground,
    string? interruptedMigrationId,
    int interruptedStep) : IMigrationsDatabaseLock
{
    // Serializes this migrator's own writes to the lease row (the renewer's and the migration's), and is held for the whole
    // of a data transaction that writes progress: a renewal committed inside such a transaction's snapshot would make it
    // fail with a serialization conflict.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stopRenewing = new();

    // A connection of the same data source (same credentials and token provider), opened only if a renewal falls due.
    private readonly DbConnection? _renewalConnection = renewInBackground && parameters.Connection.DbConnection is ICloneable cloneable
        ? cloneable.Clone() as DbConnection
        : null;

    private Task _renewer = Task.CompletedTask;
    private long _renewedAt = acquiredAt;
    private volatile bool _lost;
    private bool _heldForTransaction;
    private long _renewedInTransactionAt;
    private bool _released;

    /// <summary>This migrator's id in the lease row.</summary>
    public string Holder { get; } = holder;

    /// <summary>The migration a previous holder had started and not finished, if any.</summary>
    public string? InterruptedMigrationId { get; private set; } = interruptedMigrationId;

    /// <summary>The index of the first command of <see cref="InterruptedMigrationId" /> not known to be committed.</summary>
    public int InterruptedStep { get; private set; } = interruptedStep;

    /// <summary>Whether a renewal found that another migrator took the lease over.</summary>
    public bool IsLost => _lost;

    IHistoryRepository IMigrationsDatabaseLock.HistoryRepository => historyRepository;

    private TimeSpan RenewalInterval => lease / 3;

    private TimeSpan SinceRenewal => Stopwatch.GetElapsedTime(Interlocked.Read(ref _renewedAt));

    /// <summary>Starts renewing the lease in the background, when it has a connection of its own to do it on.</summary>
    internal DsqlMigrationLease StartRenewing()
    {
        if (_renewalConnection is not null)
        {
            _renewer = Task.Run(RenewInBackgroundAsync);
        }

        return this;
    }

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

    /// <summary>
    ///     The fence before a statement: throws when the lease is lost; renews it first (one round trip) when less than half
    ///     of it is known to be left, which the background renewal normally prevents. Inside a data transaction nothing is
    ///     renewed (the progress the transaction commits with checks the lease).
    /// </summary>
    /// <param name="inTransaction">Whether the migration connection is inside a data transaction.</param>
    public void EnsureHeld(bool inTransaction)
    {
        ThrowIfLost();
        if (!inTransaction && SinceRenewal >= lease / 2)
        {
            Write(sql.Renew(Holder));
        }
    }

    /// <summary>The asynchronous twin of <see cref="EnsureHeld" />.</summary>
    public Task EnsureHeldAsync(bool inTransaction, CancellationToken cancellationToken)
    {
        ThrowIfLost();
        return !inTransaction && SinceRenewal >= lease / 2
            ? WriteAsync(sql.Renew(Holder), cancellationToken)
            : Task.CompletedTask;
    }

    /// <summary>
    ///     Records that the commands of <paramref name="migrationId" /> before <paramref name="step" /> are committed (no
    ///     migration in progress when <paramref name="migrationId" /> is <see langword="null" />), and renews the lease. Inside
    ///     a data transaction (after <see cref="HoldForTransaction" />) the record commits with the transaction.
    /// </summary>
    public void RecordProgress(string? migrationId, int step)
        => Write(sql.RecordProgress(Holder, migrationId, step));

    /// <summary>The asynchronous twin of <see cref="RecordProgress" />.</summary>
    public Task RecordProgressAsync(string? migrationId, int step, CancellationToken cancellationToken)
        => WriteAsync(sql.RecordProgress(Holder, migrationId, step), cancellationToken);

    /// <summary>Keeps the background renewal away until <see cref="ReleaseAfterTransaction" />: a data transaction is open.</summary>
    public void HoldForTransaction()
    {
        if (!_heldForTransaction)
        {
            _gate.Wait();
            _heldForTransaction = true;
        }
    }

    /// <summary>The asynchronous twin of <see cref="HoldForTransaction" />.</summary>
    public async Task HoldForTransactionAsync(CancellationToken cancellationToken)
    {
        if (!_heldForTransaction)
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            _heldForTransaction = true;
        }
    }

    /// <summary>The data transaction ended: background renewal may run again.</summary>
    /// <param name="committed">Whether it committed (with the progress it recorded, which renewed the lease).</param>
    public void ReleaseAfterTransaction(bool committed = false)
    {
        if (committed && _renewedInTransactionAt != 0)
        {
            Interlocked.Exchange(ref _renewedAt, _renewedInTransactionAt);
        }

        _renewedInTransactionAt = 0;
        if (_heldForTransaction)
        {
            _heldForTransaction = false;
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        StopRenewing();
        try
        {
            _renewer.GetAwaiter().GetResult();
            rawSqlCommandBuilder.Build(sql.Release(Holder)).ExecuteNonQuery(parameters);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            // The lease expires on its own; failing here would hide the exception that ended the migration.
        }
        finally
        {
            _renewalConnection?.Dispose();
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
        StopRenewing();
        try
        {
            await _renewer.ConfigureAwait(false);
            await rawSqlCommandBuilder.Build(sql.Release(Holder)).ExecuteNonQueryAsync(parameters).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException)
        {
            // The lease expires on its own; failing here would hide the exception that ended the migration.
        }
        finally
        {
            if (_renewalConnection is not null)
            {
                await _renewalConnection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private void StopRenewing()
    {
        _stopRenewing.Cancel();
        ReleaseAfterTransaction();
    }

    private void Write(string sql)
    {
        var held = _heldForTransaction;
        if (!held)
        {
            _gate.Wait();
        }

        try
        {
            var sent = Stopwatch.GetTimestamp();
            Renewed(rawSqlCommandBuilder.Build(sql).ExecuteNonQuery(parameters), sent, committed: !held);
        }
        finally
        {
            if (!held)
            {
                _gate.Release();
            }
        }
    }

    private async Task WriteAsync(string sql, CancellationToken cancellationToken)
    {
        var held = _heldForTransaction;
        if (!held)
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var sent = Stopwatch.GetTimestamp();
            Renewed(await rawSqlCommandBuilder.Build(sql).ExecuteNonQueryAsync(parameters, cancellationToken).ConfigureAwait(false),
                sent, committed: !held);
        }
        finally
        {
            if (!held)
            {
                _gate.Release();
            }
        }
    }

    /// <summary>A write to the lease row answered: no row means another migrator holds the lease.</summary>
    private void Renewed(int rows, long sent, bool committed)
    {
        if (rows == 0)
        {
            _lost = true;
            ThrowIfLost();
        }

        if (committed)
        {
            Interlocked.Exchange(ref _renewedAt, sent);
        }
        else if (_renewedInTransactionAt == 0)
        {
            _renewedInTransactionAt = sent;
        }
    }

    private async Task RenewInBackgroundAsync()
    {
        var token = _stopRenewing.Token;
        try
        {
            while (!_lost)
            {
                var due = RenewalInterval - SinceRenewal;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, token).ConfigureAwait(false);
                }

                var failed = false;
                await _gate.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    // The migration may have written the row meanwhile.
                    if (SinceRenewal >= RenewalInterval)
                    {
                        var sent = Stopwatch.GetTimestamp();
                        if (await RenewOnOwnConnectionAsync(token).ConfigureAwait(false) == 0)
                        {
                            _lost = true;
                            return;
                        }

                        Interlocked.Exchange(ref _renewedAt, sent);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
                {
                    // A conflict with a migrator trying to take the lease, a broken renewal connection, anything else: try again
                    // a little later on a new connection. If renewals keep failing, the fence renews on the migration connection.
                    failed = true;
                    await CloseRenewalConnectionAsync().ConfigureAwait(false);
                }
                finally
                {
                    _gate.Release();
                }

                if (failed)
                {
                    await Task.Delay(RetryDelay, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    private TimeSpan RetryDelay
        => RenewalInterval < TimeSpan.FromSeconds(1) ? RenewalInterval / 4 : TimeSpan.FromMilliseconds(250);

    private async Task<int> RenewOnOwnConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = _renewalConnection!;
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }

        var command = connection.CreateCommand();
        await using (command.ConfigureAwait(false))
        {
            command.CommandText = sql.Renew(Holder);
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CloseRenewalConnectionAsync()
    {
        try
        {
            await _renewalConnection!.CloseAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is DbException or IOException or InvalidOperationException)
        {
            // Already broken.
        }
    }

    private void ThrowIfLost()
    {
        if (_lost)
        {
            throw new InvalidOperationException(
                "This migrator lost the Aurora DSQL migration lock: its lease expired without being renewed (the process or its "
                + "connections stalled for longer than the lease) and another migrator took it over. It stopped before running "
                + "anything more. Nothing is wrong with the database; run the migration again, and if stalls that long are "
                + "expected, configure a longer migration lock lease.");
        }
    }
}
