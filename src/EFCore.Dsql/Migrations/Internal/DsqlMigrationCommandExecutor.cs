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
///     share one transaction (never with DDL), index builds and constraint validations are waited for with
///     <c>sys.wait_for_job</c>, and — when the migrator holds the lease lock — progress is recorded after each commit so that
///     a migration interrupted half-way (process killed, connection lost) resumes where it stopped.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public class DsqlMigrationCommandExecutor : MigrationCommandExecutor
{
    private readonly IExecutionStrategy _executionStrategy;
    private readonly DsqlMigrationsOptions _options;

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
            var uncertainStep = Resume(lease, state);
            if (lease is not null && uncertainStep < 0 && state.Transaction is null)
            {
                // Mark the migration as started. Inside an open transaction nothing commits before the progress recorded
                // with that commit, so the mark would be redundant.
                lease.RecordProgress(state.CurrentMigrationId, 0);
            }

            for (var i = state.LastCommittedCommandIndex; i < commands.Count; i++)
            {
                var command = commands[i];
                if (state.Transaction is not null && command.TransactionSuppressed)
                {
                    // DDL never shares a transaction with data: commit the data (and the progress that covers it) first.
                    lease?.RecordProgress(state.CurrentMigrationId, i);
                    CommitTransaction(state, i);
                }

                if (state.Transaction is null && !command.TransactionSuppressed)
                {
                    // DSQL has only REPEATABLE READ; Npgsql's default would send READ COMMITTED, which DSQL refuses.
                    state.Transaction = connection.BeginTransaction(isolationLevel ?? IsolationLevel.RepeatableRead);
                }

                try
                {
                    result = command.ExecuteNonQuery(connection);
                    if (command is DsqlJobMigrationCommand job && _options.WaitForJobs)
                    {
                        job.WaitForJob(connection);
                    }
                }
                catch (PostgresException e) when (i == uncertainStep && command.TransactionSuppressed && IsAlreadyApplied(e))
                {
                    // The interrupted run committed this statement but died before recording it; an index it left must be usable.
                    (command as DsqlJobMigrationCommand)?.EnsureExistingIndexIsValid(connection, _options.WaitForJobs);
                }

                if (state.Transaction is null)
                {
                    state.LastCommittedCommandIndex = i + 1;
                    state.AnyOperationPerformed = true;
                    lease?.RecordProgress(i + 1 < commands.Count ? state.CurrentMigrationId : null, i + 1);
                }
            }

            if (commitTransaction && state.Transaction is not null)
            {
                lease?.RecordProgress(null, commands.Count);
                CommitTransaction(state, commands.Count);
            }
        }
        catch
        {
            state.Transaction?.Dispose();
            state.Transaction = null;
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
            var uncertainStep = Resume(lease, state);
            if (lease is not null && uncertainStep < 0 && state.Transaction is null)
            {
                // Mark the migration as started. Inside an open transaction nothing commits before the progress recorded
                // with that commit, so the mark would be redundant.
                await lease.RecordProgressAsync(state.CurrentMigrationId, 0, cancellationToken).ConfigureAwait(false);
            }

            for (var i = state.LastCommittedCommandIndex; i < commands.Count; i++)
            {
                var command = commands[i];
                if (state.Transaction is not null && command.TransactionSuppressed)
                {
                    // DDL never shares a transaction with data: commit the data (and the progress that covers it) first.
                    if (lease is not null)
                    {
                        await lease.RecordProgressAsync(state.CurrentMigrationId, i, cancellationToken).ConfigureAwait(false);
                    }

                    await CommitTransactionAsync(state, i, cancellationToken).ConfigureAwait(false);
                }

                if (state.Transaction is null && !command.TransactionSuppressed)
                {
                    // DSQL has only REPEATABLE READ; Npgsql's default would send READ COMMITTED, which DSQL refuses.
                    state.Transaction = await connection.BeginTransactionAsync(isolationLevel ?? IsolationLevel.RepeatableRead, cancellationToken)
                        .ConfigureAwait(false);
                }

                try
                {
                    result = await command.ExecuteNonQueryAsync(connection, cancellationToken: cancellationToken).ConfigureAwait(false);
                    if (command is DsqlJobMigrationCommand job && _options.WaitForJobs)
                    {
                        await job.WaitForJobAsync(connection, cancellationToken).ConfigureAwait(false);
                    }
                }
                catch (PostgresException e) when (i == uncertainStep && command.TransactionSuppressed && IsAlreadyApplied(e))
                {
                    // The interrupted run committed this statement but died before recording it; an index it left must be usable.
                    if (command is DsqlJobMigrationCommand job)
                    {
                        await job.EnsureExistingIndexIsValidAsync(connection, _options.WaitForJobs, cancellationToken).ConfigureAwait(false);
                    }
                }

                if (state.Transaction is null)
                {
                    state.LastCommittedCommandIndex = i + 1;
                    state.AnyOperationPerformed = true;
                    if (lease is not null)
                    {
                        await lease.RecordProgressAsync(i + 1 < commands.Count ? state.CurrentMigrationId : null, i + 1, cancellationToken)
                            .ConfigureAwait(false);
                    }
                }
            }

            if (commitTransaction && state.Transaction is not null)
            {
                if (lease is not null)
                {
                    await lease.RecordProgressAsync(null, commands.Count, cancellationToken).ConfigureAwait(false);
                }

                await CommitTransactionAsync(state, commands.Count, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            if (state.Transaction is not null)
            {
                await state.Transaction.DisposeAsync().ConfigureAwait(false);
                state.Transaction = null;
            }

            await connection.CloseAsync().ConfigureAwait(false);
            throw;
        }

        await connection.CloseAsync().ConfigureAwait(false);
        return result;
    }

    /// <summary>
    ///     Skips the commands an interrupted run of this migration committed. Answers the index of the command whose fate is
    ///     unknown (committed or not), whose "already exists" errors are therefore expected, or -1 for a fresh start.
    /// </summary>
    private static int Resume(DsqlMigrationLease? lease, MigrationExecutionState state)
    {
        if (state.LastCommittedCommandIndex > 0)
        {
            // A retry by the execution strategy: the first command may have committed before the error (e.g. while waiting for
            // its job, or recording progress).
            return state.LastCommittedCommandIndex;
        }

        if (lease?.TakeResumeStep(state.CurrentMigrationId) is not { } step)
        {
            return -1;
        }

        state.LastCommittedCommandIndex = step;
        return step;
    }

    private static void CommitTransaction(MigrationExecutionState state, int committedUpTo)
    {
        state.Transaction!.Commit();
        state.Transaction.Dispose();
        state.Transaction = null;
        state.LastCommittedCommandIndex = committedUpTo;
        state.AnyOperationPerformed = true;
    }

    private static async Task CommitTransactionAsync(MigrationExecutionState state, int committedUpTo, CancellationToken cancellationToken)
    {
        await state.Transaction!.CommitAsync(cancellationToken).ConfigureAwait(false);
        await state.Transaction.DisposeAsync().ConfigureAwait(false);
        state.Transaction = null;
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

    /// <summary>The errors a statement gives when an interrupted run already applied it.</summary>
    private static bool IsAlreadyApplied(PostgresException e)
        => e.SqlState is PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.DuplicateColumn or PostgresErrorCodes.DuplicateObject
            or PostgresErrorCodes.DuplicateSchema or PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedColumn
            or PostgresErrorCodes.UndefinedObject or PostgresErrorCodes.UniqueViolation;
}
