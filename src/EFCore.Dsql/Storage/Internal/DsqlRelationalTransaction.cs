using Dsql.Npgsql.Internal;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Storage.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>
/// A transaction that never sends <c>SAVEPOINT</c>: DSQL refuses it with <c>0A000</c>, which also aborts the transaction.
/// With <see cref="SupportsSavepoints"/> false, EF's <c>SaveChanges</c> inside a user transaction creates no savepoint;
/// an explicit savepoint call throws a <see cref="NotSupportedException"/> that says what to do instead.
/// A <c>COMMIT</c> whose answer is lost throws <see cref="DsqlCommitOutcomeUnknownException"/>, which the execution
/// strategy never retries blindly; with commit markers on (<c>VerifyCommitsWithMarker</c>) a transaction that wrote
/// inserts its marker just before the <c>COMMIT</c> and, when the answer is lost, looks it up on a new connection: found,
/// the commit is reported as done; not found, the original (transient) failure is rethrown for the strategy to retry.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public class DsqlRelationalTransaction(
    IRelationalConnection connection,
    DbTransaction transaction,
    Guid transactionId,
    IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger,
    bool transactionOwned,
    ISqlGenerationHelper sqlGenerationHelper)
    : RelationalTransaction(connection, transaction, transactionId, logger, transactionOwned, sqlGenerationHelper)
{
    /// <summary>
    /// Whether a command that writes (<c>SaveChanges</c>, <c>ExecuteUpdate</c>, <c>ExecuteDelete</c>, non-DDL
    /// <c>ExecuteSql</c>) ran in this transaction: only such a transaction gets a commit marker.
    /// </summary>
    public virtual bool WritesData { get; set; }

    /// <summary>The retry and commit-marker settings of the context; <see langword="null"/> outside <c>UseAuroraDsql</c>.</summary>
    protected virtual DsqlRetryOptions? RetryOptions { get; }
        = connection.Context.GetService<IDbContextOptions>().FindExtension<DsqlOptionsExtension>()?.Retry.Options;

    /// <inheritdoc />
    public override void Commit()
    {
        var marker = NextMarker();
        if (marker is { } inserting && !DsqlCommitMarkerStore.TryInsert(NpgsqlConnection, NpgsqlTransaction, inserting.Options, inserting.Id))
        {
            base.Rollback(); // an earlier attempt of this unit committed: this one must not
            return;
        }

        try
        {
            base.Commit();
        }
        catch (Exception ex) when (DsqlFailureClassifier.IsAmbiguousCommitFailure(ex))
        {
            if (marker is not { } verifying)
            {
                throw new DsqlCommitOutcomeUnknownException(ex);
            }

            if (!DsqlCommitMarkerStore.Verify(OpenVerificationConnection, verifying.Options, verifying.Id, RetryOptions!, ex))
            {
                throw; // not committed: a transient failure the strategy retries
            }

            ClearTransaction();
        }
    }

    /// <inheritdoc />
    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        var marker = NextMarker();
        if (marker is { } inserting
            && !await DsqlCommitMarkerStore.TryInsertAsync(NpgsqlConnection, NpgsqlTransaction, inserting.Options, inserting.Id, cancellationToken)
                .ConfigureAwait(false))
        {
            await base.RollbackAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await base.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (DsqlFailureClassifier.IsAmbiguousCommitFailure(ex))
        {
            if (marker is not { } verifying)
            {
                throw new DsqlCommitOutcomeUnknownException(ex);
            }

            if (!await DsqlCommitMarkerStore.VerifyAsync(OpenVerificationConnectionAsync, verifying.Options, verifying.Id, RetryOptions!, ex, cancellationToken)
                .ConfigureAwait(false))
            {
                throw;
            }

            await ClearTransactionAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private NpgsqlConnection NpgsqlConnection => (NpgsqlConnection)Connection.DbConnection;

    private NpgsqlTransaction NpgsqlTransaction => (NpgsqlTransaction)this.GetDbTransaction();

    // The marker of this transaction, when markers are on and it wrote: the unit's next id (stable across the unit's
    // attempts), or a new one outside a retrying strategy.
    private (DsqlCommitMarkerOptions Options, Guid Id)? NextMarker()
        => WritesData && RetryOptions?.CommitMarker is { } options
            ? (options, DsqlCommitMarkerUnit.Current?.NextMarkerId() ?? Guid.NewGuid())
            : null;

    // The look-up needs a new physical connection: the transaction's own one is broken.
    private NpgsqlConnection NewConnection()
        => Connection is NpgsqlRelationalConnection { DbDataSource: NpgsqlDataSource dataSource }
            ? dataSource.CreateConnection()
            : (NpgsqlConnection)((ICloneable)NpgsqlConnection).Clone();

    private NpgsqlConnection OpenVerificationConnection()
    {
        var connection = NewConnection();
        connection.Open();
        return connection;
    }

    private async ValueTask<NpgsqlConnection> OpenVerificationConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = NewConnection();
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    /// <summary>Always <see langword="false"/>: DSQL has no savepoints.</summary>
    public override bool SupportsSavepoints => false;

    /// <inheritdoc />
    public override void CreateSavepoint(string name) => throw new NotSupportedException(DsqlStrings.SavepointsNotSupported);

    /// <inheritdoc />
    public override Task CreateSavepointAsync(string name, CancellationToken cancellationToken = default)
        => throw new NotSupportedException(DsqlStrings.SavepointsNotSupported);

    /// <inheritdoc />
    public override void RollbackToSavepoint(string name) => throw new NotSupportedException(DsqlStrings.SavepointsNotSupported);

    /// <inheritdoc />
    public override Task RollbackToSavepointAsync(string name, CancellationToken cancellationToken = default)
        => throw new NotSupportedException(DsqlStrings.SavepointsNotSupported);

    /// <inheritdoc />
    public override void ReleaseSavepoint(string name) => throw new NotSupportedException(DsqlStrings.SavepointsNotSupported);

    /// <inheritdoc />
    public override Task ReleaseSavepointAsync(string name, CancellationToken cancellationToken = default)
        => throw new NotSupportedException(DsqlStrings.SavepointsNotSupported);
}

/// <summary>Creates <see cref="DsqlRelationalTransaction"/>s.</summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice. Singleton.</remarks>
public class DsqlRelationalTransactionFactory(RelationalTransactionFactoryDependencies dependencies)
    : RelationalTransactionFactory(dependencies)
{
    /// <inheritdoc />
    public override RelationalTransaction Create(
        IRelationalConnection connection,
        DbTransaction transaction,
        Guid transactionId,
        IDiagnosticsLogger<DbLoggerCategory.Database.Transaction> logger,
        bool transactionOwned)
        => new DsqlRelationalTransaction(connection, transaction, transactionId, logger, transactionOwned, Dependencies.SqlGenerationHelper);
}
