using Dsql.Npgsql.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>
/// Turns a lost answer to an autocommit write (a one-statement <c>SaveChanges</c>, <c>ExecuteUpdate</c>,
/// <c>ExecuteDelete</c>, <c>ExecuteSqlRaw</c> outside a transaction) into a <see cref="DsqlCommitOutcomeUnknownException"/>:
/// such a statement commits implicitly, so a connection that failed after sending it may have applied it.
/// </summary>
/// <remarks>
/// It also notes, for commit markers, which transactions ran a command that writes.
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

    /// <inheritdoc />
    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        NoteWrite(command, eventData);
        return result;
    }

    /// <inheritdoc />
    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        NoteWrite(command, eventData);
        return ValueTask.FromResult(result);
    }

    /// <inheritdoc />
    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        NoteWrite(command, eventData);
        return result;
    }

    /// <inheritdoc />
    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        NoteWrite(command, eventData);
        return ValueTask.FromResult(result);
    }

    // Commit markers go only into transactions that wrote: never into a read-only one, a migration's (DDL and DML cannot
    // share a DSQL transaction) or one running the application's DDL.
    private static void NoteWrite(DbCommand command, CommandEventData eventData)
    {
        if (command.Transaction is not null
            && eventData.CommandSource switch
            {
                CommandSource.SaveChanges or CommandSource.ExecuteUpdate or CommandSource.ExecuteDelete => true,
                CommandSource.ExecuteSqlRaw => !IsDdl(command.CommandText),
                _ => false,
            }
            && eventData.Context?.Database.CurrentTransaction is DsqlRelationalTransaction transaction)
        {
            transaction.WritesData = true;
        }
    }

    private static bool IsDdl(string sql)
    {
        var text = sql.AsSpan().TrimStart();
        foreach (var keyword in DdlKeywords)
        {
            if (text.StartsWith(keyword, StringComparison.OrdinalIgnoreCase)
                && (text.Length == keyword.Length || !char.IsLetterOrDigit(text[keyword.Length])))
            {
                return true;
            }
        }

        return false;
    }

    private static readonly string[] DdlKeywords = ["CREATE", "ALTER", "DROP", "GRANT", "REVOKE", "COMMENT", "TRUNCATE"];

    private static bool IsImplicitCommitLost(DbCommand command, CommandErrorEventData eventData)
        => command.Transaction is null
            && eventData.CommandSource is CommandSource.SaveChanges or CommandSource.ExecuteUpdate or CommandSource.ExecuteDelete
                or CommandSource.ExecuteSqlRaw
            && DsqlFailureClassifier.IsAmbiguousCommitFailure(eventData.Exception);
}
