using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace EFCore.Dsql.FunctionalTests.Migrations;

/// <summary>Fails the migration right after a statement containing <paramref name="marker" /> committed: a crash the migrator did not see coming.</summary>
internal sealed class CrashAfterStatementInterceptor(string marker) : DbCommandInterceptor
{
    public override ValueTask<int> NonQueryExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
        => command.CommandText.Contains(marker, StringComparison.Ordinal)
            ? throw new IOException($"Simulated crash after '{marker}' committed.")
            : ValueTask.FromResult(result);

    public override async ValueTask<DbDataReader> ReaderExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
    {
        if (command.CommandText.Contains(marker, StringComparison.Ordinal))
        {
            await result.DisposeAsync();
            throw new IOException($"Simulated crash after '{marker}' committed.");
        }

        return result;
    }
}

/// <summary>Counts the statements that contain <paramref name="marker" />, across every context it is added to.</summary>
internal sealed class CountingInterceptor(string marker) : DbCommandInterceptor
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public override ValueTask<int> NonQueryExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        if (command.CommandText.Contains(marker, StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _count);
        }

        return ValueTask.FromResult(result);
    }
}

/// <summary>
///     Answers the first statement containing <paramref name="marker" /> with an OCC conflict (40001) after it committed, as
///     DSQL can when a commit's outcome is reported late; later ones pass.
/// </summary>
internal sealed class ConflictOnceAfterStatementInterceptor(string marker) : DbCommandInterceptor
{
    private int _thrown;

    public bool Thrown => Volatile.Read(ref _thrown) == 1;

    public override ValueTask<int> NonQueryExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
        => command.CommandText.Contains(marker, StringComparison.Ordinal) && Interlocked.Exchange(ref _thrown, 1) == 0
            ? throw new PostgresException("change conflicts with another transaction, please retry: (OC000)", "ERROR", "ERROR", "40001")
            : ValueTask.FromResult(result);
}
