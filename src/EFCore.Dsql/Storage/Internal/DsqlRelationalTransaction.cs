using Dsql.Npgsql.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>
/// A transaction that never sends <c>SAVEPOINT</c>: DSQL refuses it with <c>0A000</c>, which also aborts the transaction.
/// With <see cref="SupportsSavepoints"/> false, EF's <c>SaveChanges</c> inside a user transaction creates no savepoint;
/// an explicit savepoint call throws a <see cref="NotSupportedException"/> that says what to do instead.
/// A <c>COMMIT</c> whose answer is lost throws <see cref="DsqlCommitOutcomeUnknownException"/>, which the execution
/// strategy never retries blindly.
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
    /// <inheritdoc />
    public override void Commit()
    {
        try
        {
            base.Commit();
        }
        catch (Exception ex) when (DsqlFailureClassifier.IsAmbiguousCommitFailure(ex))
        {
            throw new DsqlCommitOutcomeUnknownException(ex);
        }
    }

    /// <inheritdoc />
    public override async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await base.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (DsqlFailureClassifier.IsAmbiguousCommitFailure(ex))
        {
            throw new DsqlCommitOutcomeUnknownException(ex);
        }
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
