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

/// <summary>Every statement sent, in order, across every context it is added to.</summary>
internal sealed class StatementLog : DbCommandInterceptor
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _statements = new();

    public IReadOnlyList<string> Statements => [.. _statements];

    /// <summary>The migrations' own DDL: not the lock's and history's tables, not the idempotent <c>IF NOT EXISTS</c> set-up.</summary>
    public IReadOnlyList<string> MigrationDdl
        => Statements.Where(s => s.StartsWith("CREATE ", StringComparison.Ordinal) || s.StartsWith("ALTER ", StringComparison.Ordinal)
                || s.StartsWith("DROP ", StringComparison.Ordinal) || s.StartsWith("COMMENT ", StringComparison.Ordinal))
            .Where(s => !s.Contains("__EFMigrations", StringComparison.Ordinal) && !s.Contains("IF NOT EXISTS", StringComparison.Ordinal))
            .ToList();

    // EF gives the migration lock up synchronously, even in MigrateAsync: the synchronous events count too.
    public override int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        _statements.Enqueue(command.CommandText.Trim());
        return result;
    }

    public override DbDataReader ReaderExecuted(DbCommand command, CommandExecutedEventData eventData, DbDataReader result)
    {
        _statements.Enqueue(command.CommandText.Trim());
        return result;
    }

    public override object? ScalarExecuted(DbCommand command, CommandExecutedEventData eventData, object? result)
    {
        _statements.Enqueue(command.CommandText.Trim());
        return result;
    }

    public override ValueTask<int> NonQueryExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        _statements.Enqueue(command.CommandText.Trim());
        return ValueTask.FromResult(result);
    }

    public override ValueTask<DbDataReader> ReaderExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, DbDataReader result, CancellationToken cancellationToken = default)
    {
        _statements.Enqueue(command.CommandText.Trim());
        return ValueTask.FromResult(result);
    }

    public override ValueTask<object?> ScalarExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, object? result, CancellationToken cancellationToken = default)
    {
        _statements.Enqueue(command.CommandText.Trim());
        return ValueTask.FromResult(result);
    }
}

/// <summary>
///     Right after the statement containing <paramref name="marker" /> committed, another migrator takes the lease over (as
///     if this one had stalled past its expiry), and this one stalls for <paramref name="stall" />.
/// </summary>
internal sealed class LeaseTakenOverAfterStatementInterceptor(string backendConnectionString, string marker, TimeSpan stall) : DbCommandInterceptor
{
    public override async ValueTask<int> NonQueryExecutedAsync(
        DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        if (command.CommandText.Contains(marker, StringComparison.Ordinal))
        {
            await using var connection = new NpgsqlConnection(backendConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var steal = new NpgsqlCommand(
                """UPDATE shop."__EFMigrationsLock" SET "Holder" = 'other', "ExpiresAt" = now() + interval '1 hour'""", connection);
            await steal.ExecuteNonQueryAsync(cancellationToken);
            await Task.Delay(stall, cancellationToken);
        }

        return result;
    }
}

/// <summary>
///     Counts the invalid indexes of <paramref name="schema" /> (builds not yet complete) on the backend each time, and just
///     before, the migrator writes a history row.
/// </summary>
internal sealed class InvalidIndexesAtHistoryInsert(string backendConnectionString, string schema) : DbCommandInterceptor
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<long> _counts = new();

    public IReadOnlyList<long> InvalidIndexCounts => [.. _counts];

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        if (IsHistoryInsert(command))
        {
            _counts.Enqueue(CountAsync().GetAwaiter().GetResult());
        }

        return result;
    }

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        if (IsHistoryInsert(command))
        {
            _counts.Enqueue(await CountAsync());
        }

        return result;
    }

    private static bool IsHistoryInsert(DbCommand command)
        => command.CommandText.Contains("INSERT INTO", StringComparison.Ordinal)
            && command.CommandText.Contains("__EFMigrationsHistory", StringComparison.Ordinal);

    private Task<long> CountAsync()
        => ShopDatabase.InvalidIndexCountAsync(backendConnectionString, schema);
}
