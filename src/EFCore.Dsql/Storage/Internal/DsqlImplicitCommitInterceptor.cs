using Dsql.Npgsql.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>
/// Turns a lost answer to an autocommit write (a one-statement <c>SaveChanges</c>, <c>ExecuteUpdate</c>,
/// <c>ExecuteDelete</c>, <c>ExecuteSqlRaw</c> outside a transaction) into a <see cref="DsqlCommitOutcomeUnknownException"/>:
/// such a statement commits implicitly, so a connection that failed after sending it may have applied it.
/// </summary>
/// <remarks>
/// This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice. Singleton.
/// Failures inside a transaction are left alone (nothing is committed until the transaction's COMMIT, which
/// <see cref="DsqlRelationalTransaction"/> guards), as are queries and migrations (the migrator resumes by itself).
/// </remarks>
public class DsqlImplicitCommitInterceptor : DbCommandInterceptor
{
    /// <inheritdoc />
    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData)
    {
        if (IsImplicitCommitLost(command, eventData))
        {
            throw new DsqlCommitOutcomeUnknownException(eventData.Exception);
        }
    }

    /// <inheritdoc />
    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
        => IsImplicitCommitLost(command, eventData)
            ? Task.FromException(new DsqlCommitOutcomeUnknownException(eventData.Exception))
            : Task.CompletedTask;

    private static bool IsImplicitCommitLost(DbCommand command, CommandErrorEventData eventData)
        => command.Transaction is null
            && eventData.CommandSource is CommandSource.SaveChanges or CommandSource.ExecuteUpdate or CommandSource.ExecuteDelete
                or CommandSource.ExecuteSqlRaw
            && DsqlFailureClassifier.IsAmbiguousCommitFailure(eventData.Exception);
}
