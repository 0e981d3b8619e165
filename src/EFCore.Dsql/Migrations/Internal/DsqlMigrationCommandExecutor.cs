// MigrationCommandExecutor and MigrationExecutionState are pubternal; the executor is the seam EF offers for this.
#pragma warning disable EF1001

using System.Transactions;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Internal;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using IsolationLevel = System.Data.IsolationLevel;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     Runs migration commands the way Aurora DSQL needs: every DDL command commits on its own, consecutive data commands
///     share one transaction (never with DDL), and index builds and constraint validations are waited for with
///     <c>sys.wait_for_job</c>. The jobs of a run of steps that only create are waited for together, in one round trip,
///     before the first step that could depend on them and before the history row, so the builds run side by side. When the
///     migrator holds the lease lock, progress is recorded around the steps that cannot run twice, so that a migration
///     interrupted half-way (process killed, connection lost) resumes where it stopped.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public class DsqlMigrationCommandExecutor : MigrationCommandExecutor
{
    private readonly IExecutionStrategy _executionStrategy;
    private readonly DsqlMigrationsOptions _options;

    // The jobs started and not yet waited for, per migration: kept across the execution strategy's retries, which skip the
    // steps that started them.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<MigrationExecutionState, List<DsqlJobMigrationCommand>> _pendingJobs = [];

    /// <summary>Creates the executor.</summary>
    public DsqlMigrationCommandExecutor(IExecutionStrategy executionStrategy, IDbContextOptions contextOptions)
        : base(executionStrategy)
    {
        _executionStrategy = executionStrategy;
        _options = DsqlMigrationsOptions.Of(contextOptions);
    }

    /// <inheritdoc />
    public override int ExecuteNonQuery(
        IReadOnlyList<MigrationCommand> migrationCommands,
        IRelationalConnection connection,
        MigrationExecutionState executionState,
        bool commitTransaction,
        IsolationLevel? isolationLevel = null)
    {
        ThrowIfInUserTransaction(connection, executionState);
        using var transactionScope = new TransactionScope(TransactionScopeOption.Suppress, TransactionScopeAsyncFlowOption.Enabled);

        return _executionStrategy.Execute(
            (Executor: this, migrationCommands, connection, executionState, commitTransaction, isolationLevel),
            static (_, s) => s.Executor.Execute(s.migrationCommands, s.connection, s.executionState, s.commitTransaction, s.isolationLevel),
            verifySucceeded: null);
    }

    /// <inheritdoc />
    public override Task<int> ExecuteNonQueryAsync(
        IReadOnlyList<MigrationCommand> migrationCommands,
        IRelationalConnection connection,
        MigrationExecutionState executionState,
        bool commitTransaction,
        IsolationLevel? isolationLevel = null,
        CancellationToken cancellationToken = default)
    {
        ThrowIfInUserTransaction(connection, executionState);
        using var transactionScope = new TransactionScope(TransactionScopeOption.Suppress, TransactionScopeAsyncFlowOption.Enabled);

        return _executionStrategy.ExecuteAsync(
            (Executor: this, migrationCommands, connection, executionState, commitTransaction, isolationLevel),
            static (_, s, ct) => s.Executor.ExecuteAsync(
                s.migrationCommands, s.connection, s.executionState, s.commitTransaction, s.isolationLevel, ct),
            verifySucceeded: null,
            cancellationToken);
    }

    private int Execute(
        IReadOnlyList<MigrationCommand> commands,
        IRelationalConnection connection,
        MigrationExecutionState state,
        bool commitTransaction,
        IsolationLevel? isolationLevel)
    {
        var lease = state.DatabaseLock as DsqlMigrationLease;
        var result = 0;
        connection.Open();
        try
        {
            var progress = Resume(lease, state, commands);
            if (state.Transaction is not null)
            {
                lease?.HoldForTransaction();
            }
            else if (lease is not null && progress.FreshStart)
            {
                // Mark the migration as started. Inside an open transaction the mark commits with the transaction.
                lease.RecordProgress(progress.Key, 0);
                progress.Recorded = 0;
            }

            var pendingJobs = _pendingJobs.GetOrCreateValue(state);
            for (var i = state.LastCommittedCommandIndex; i < commands.Count; i++)
            {
                var command = commands[i];
                if (pendingJobs.Count > 0 && !DsqlMigrationSteps.MayRunWhileJobsArePending(command))
                {
                    DsqlJobMigrationCommand.WaitForPendingJobs(pendingJobs, connection);
                }

                if (state.Transaction is not null && command.TransactionSuppressed)
                {
                    // DDL never shares a transaction with data: commit the data (and the progress that covers it) first.
                    lease?.RecordProgress(progress.Key, i);
                    CommitTransaction(state, i, lease);
                    progress.Recorded = i;
                }

                lease?.EnsureHeld(inTransaction: state.Transaction is not null);
                var checkpoint = lease is not null && command.TransactionSuppressed && !DsqlMigrationSteps.IsRerunnable(command);
                if (checkpoint && progress.Recorded != i)
                {
                    // Only this step's fate may be unknown when the migrator stops while it runs.
                    lease!.RecordProgress(progress.Key, i);
                    progress.Recorded = i;
                }

                if (state.Transaction is null && !command.TransactionSuppressed)
                {
                    // DSQL has only REPEATABLE READ; Npgsql's default would send READ COMMITTED, which DSQL refuses.
                    lease?.HoldForTransaction();
                    state.Transaction = connection.BeginTransaction(isolationLevel ?? IsolationLevel.RepeatableRead);
                }

                try
                {
                    result = command.ExecuteNonQuery(connection);
                    if (command is DsqlJobMigrationCommand job && _options.WaitForJobs)
                    {
                        pendingJobs.Add(job);
                    }
                }
                catch (PostgresException e) when (progress.IsUncertain(i) && DsqlMigrationSteps.IsAlreadyApplied(command, e))
                {
                    // An interrupted run committed this statement but died before that was known; an index it left must be usable.
                    (command as DsqlJobMigrationCommand)?.EnsureExistingIndexIsValid(connection, _options.WaitForJobs);
                }

                if (state.Transaction is null)
                {
                    state.LastCommittedCommandIndex = i + 1;
                    state.AnyOperationPerformed = true;
                    if (checkpoint)
                    {
                        lease!.RecordProgress(progress.Key, i + 1);
                        progress.Recorded = i + 1;
                    }
                }
            }

            DsqlJobMigrationCommand.WaitForPendingJobs(pendingJobs, connection);
            if (lease is not null)
            {
                // The migration's last command (its history row) is data: the cleared progress commits with it.
                lease.RecordProgress(null, commands.Count);
            }

            if (commitTransaction && state.Transaction is not null)
            {
                CommitTransaction(state, commands.Count, lease);
            }
        }
        catch
        {
            state.Transaction?.Dispose();
            state.Transaction = null;
            lease?.ReleaseAfterTransaction();
            connection.Close();
            throw;
        }

        connection.Close();
        return result;
    }

    private async Task<int> ExecuteAsync(
        IReadOnlyList<MigrationCommand> commands,
        IRelationalConnection connection,
        MigrationExecutionState state,
        bool commitTransaction,
        IsolationLevel? isolationLevel,
        CancellationToken cancellationToken)
    {
        var lease = state.DatabaseLock as DsqlMigrationLease;
        var result = 0;
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var progress = Resume(lease, state, commands);
            if (state.Transaction is not null)
            {
                if (lease is not null)
                {
                    await lease.HoldForTransactionAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            else if (lease is not null && progress.FreshStart)
            {
                // Mark the migration as started. Inside an open transaction the mark commits with the transaction.
                await lease.RecordProgressAsync(progress.Key, 0, cancellationToken).ConfigureAwait(false);
                progress.Recorded = 0;
            }

            var pendingJobs = _pendingJobs.GetOrCreateValue(state);
            for (var i = state.LastCommittedCommandIndex; i < commands.Count; i++)
            {
                var command = commands[i];
                if (pendingJobs.Count > 0 && !DsqlMigrationSteps.MayRunWhileJobsArePending(command))
                {
                    await DsqlJobMigrationCommand.WaitForPendingJobsAsync(pendingJobs, connection, cancellationToken).ConfigureAwait(false);
                }

                if (state.Transaction is not null && command.TransactionSuppressed)
                {
                    // DDL never shares a transaction with data: commit the data (and the progress that covers it) first.
                    if (lease is not null)
                    {
                        await lease.RecordProgressAsync(progress.Key, i, cancellationToken).ConfigureAwait(false);
                    }

                    await CommitTransactionAsync(state, i, lease, cancellationToken).ConfigureAwait(false);
                    progress.Recorded = i;
                }

                var checkpoint = lease is not null && command.TransactionSuppressed && !DsqlMigrationSteps.IsRerunnable(command);
                if (lease is not null)
                {
                    await lease.EnsureHeldAsync(state.Transaction is not null, cancellationToken).ConfigureAwait(false);
                    if (checkpoint && progress.Recorded != i)
                    {
                        // Only this step's fate may be unknown when the migrator stops while it runs.
                        await lease.RecordProgressAsync(progress.Key, i, cancellationToken).ConfigureAwait(false);
                        progress.Recorded = i;
                    }
                }

                if (state.Transaction is null && !command.TransactionSuppressed)
                {
                    // DSQL has only REPEATABLE READ; Npgsql's default would send READ COMMITTED, which DSQL refuses.
                    if (lease is not null)
                    {
                        await lease.HoldForTransactionAsync(cancellationToken).ConfigureAwait(false);
                    }

                    state.Transaction = await connection.BeginTransactionAsync(isolationLevel ?? IsolationLevel.RepeatableRead, cancellationToken)
                        .ConfigureAwait(false);
                }

                try
                {
                    result = await command.ExecuteNonQueryAsync(connection, cancellationToken: cancellationToken).ConfigureAwait(false);
                    if (command is DsqlJobMigrationCommand job && _options.WaitForJobs)
                    {
                        pendingJobs.Add(job);
                    }
                }
                catch (PostgresException e) when (progress.IsUncertain(i) && DsqlMigrationSteps.IsAlreadyApplied(command, e))
                {
                    // An interrupted run committed this statement but died before that was known; an index it left must be usable.
                    if (command is DsqlJobMigrationCommand job)
                    {
                        await job.EnsureExistingIndexIsValidAsync(connection, _options.WaitForJobs, cancellationToken).ConfigureAwait(false);
                    }
                }

                if (state.Transaction is null)
                {
                    state.LastCommittedCommandIndex = i + 1;
                    state.AnyOperationPerformed = true;
                    if (checkpoint)
                    {
                        await lease!.RecordProgressAsync(progress.Key, i + 1, cancellationToken).ConfigureAwait(false);
                        progress.Recorded = i + 1;
                    }
                }
            }

            await DsqlJobMigrationCommand.WaitForPendingJobsAsync(pendingJobs, connection, cancellationToken).ConfigureAwait(false);
            if (lease is not null)
            {
                // The migration's last command (its history row) is data: the cleared progress commits with it.
                await lease.RecordProgressAsync(null, commands.Count, cancellationToken).ConfigureAwait(false);
            }

            if (commitTransaction && state.Transaction is not null)
            {
                await CommitTransactionAsync(state, commands.Count, lease, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            if (state.Transaction is not null)
            {
                await state.Transaction.DisposeAsync().ConfigureAwait(false);
                state.Transaction = null;
            }

            lease?.ReleaseAfterTransaction();
            await connection.CloseAsync().ConfigureAwait(false);
            throw;
        }

        await connection.CloseAsync().ConfigureAwait(false);
        return result;
    }

    /// <summary>
    ///     Skips the commands an interrupted run of this migration is known to have committed, and tells which of the next
    ///     ones may have committed too (whose "already exists" answers are therefore expected).
    /// </summary>
    private static Progress Resume(DsqlMigrationLease? lease, MigrationExecutionState state, IReadOnlyList<MigrationCommand> commands)
    {
        // Reverting a migration is recorded apart from applying it: what an interrupted Up left must not skip Down steps.
        var key = state.CurrentMigrationId is { } id && commands is [.., DsqlHistoryRowCommand { RemovesRow: true }]
            ? id + " (down)"
            : state.CurrentMigrationId;
        if (state.LastCommittedCommandIndex > 0)
        {
            // A retry by the execution strategy: this process knows exactly what committed; only the command that failed may
            // have committed before the error (e.g. while waiting for its job).
            return new Progress(key, state.LastCommittedCommandIndex, state.LastCommittedCommandIndex, recorded: -1);
        }

        if (lease?.TakeResumeStep(key) is not { } step)
        {
            return new Progress(key, -1, -1, recorded: -1) { FreshStart = true };
        }

        // Another migrator stopped here. Progress is recorded around the steps that cannot be repeated (and with every
        // data transaction), not after the re-runnable ones: the recorded step and the re-runnable steps that follow it may
        // have committed.
        state.LastCommittedCommandIndex = step;
        var uncertainTo = step;
        if (step < commands.Count && DsqlMigrationSteps.IsRerunnable(commands[step]))
        {
            while (uncertainTo + 1 < commands.Count && DsqlMigrationSteps.IsRerunnable(commands[uncertainTo + 1]))
            {
                uncertainTo++;
            }
        }

        return new Progress(key, step, uncertainTo, recorded: step);
    }

    /// <summary>
    ///     Where this run stands: the key its progress is recorded under, the steps whose fate is unknown, and the step last
    ///     recorded in the lease row.
    /// </summary>
    private sealed class Progress(string? key, int uncertainFrom, int uncertainTo, int recorded)
    {
        public string? Key { get; } = key;

        public bool FreshStart { get; init; }

        public int Recorded { get; set; } = recorded;

        public bool IsUncertain(int step)
            => step >= uncertainFrom && step <= uncertainTo && uncertainFrom >= 0;
    }

    private static void CommitTransaction(MigrationExecutionState state, int committedUpTo, DsqlMigrationLease? lease)
    {
        state.Transaction!.Commit();
        state.Transaction.Dispose();
        state.Transaction = null;
        lease?.ReleaseAfterTransaction(committed: true);
        state.LastCommittedCommandIndex = committedUpTo;
        state.AnyOperationPerformed = true;
    }

    private static async Task CommitTransactionAsync(
        MigrationExecutionState state, int committedUpTo, DsqlMigrationLease? lease, CancellationToken cancellationToken)
    {
        await state.Transaction!.CommitAsync(cancellationToken).ConfigureAwait(false);
        await state.Transaction.DisposeAsync().ConfigureAwait(false);
        state.Transaction = null;
        lease?.ReleaseAfterTransaction(committed: true);
        state.LastCommittedCommandIndex = committedUpTo;
        state.AnyOperationPerformed = true;
    }

    private static void ThrowIfInUserTransaction(IRelationalConnection connection, MigrationExecutionState state)
    {
        if (connection.CurrentTransaction is not null && state.Transaction is null)
        {
            throw new NotSupportedException(
                "Aurora DSQL migrations cannot run inside a transaction the application started: DSQL commits every DDL "
                + "statement on its own. Call Migrate()/MigrateAsync() outside of BeginTransaction()/TransactionScope.");
        }
    }
}
