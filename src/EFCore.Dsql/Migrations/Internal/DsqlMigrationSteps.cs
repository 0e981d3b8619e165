using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     What the migrator knows about a migration step without asking the server: whether running it again after it
///     committed is harmless (the catalog answers "already exists", or the statement sets what it set before), and which
///     errors of a step whose fate is unknown mean that it had committed.
/// </summary>
/// <remarks>
///     Re-runnable steps are not followed by a progress record: a migrator that takes over runs them again from the last
///     recorded step, and the catalog tells which had committed. Every other DDL step (drops, renames, <c>Sql(…)</c>, …) is
///     recorded before and after, so that only that one step is ever uncertain. Data commits with its progress.
/// </remarks>
internal static class DsqlMigrationSteps
{
    // Steps that only create (a table, schema, sequence or index) or set a comment.
    private static readonly string[] CreatingPrefixes =
    [
        "CREATE TABLE ", "CREATE SCHEMA IF NOT EXISTS ", "CREATE SEQUENCE ", "CREATE INDEX ASYNC ", "CREATE UNIQUE INDEX ASYNC ",
        "COMMENT ON ",
    ];

    private static readonly string[] RerunnablePrefixes = [.. CreatingPrefixes, "ALTER TABLE ASYNC "];

    /// <summary>
    ///     Whether running the step again after it committed is harmless: it creates something (and then fails with
    ///     "already exists"), or sets a comment or a default, validates a constraint, back-fills nulls, adds the migration's
    ///     history row (whose key answers "already exists") or removes it.
    /// </summary>
    public static bool IsRerunnable(MigrationCommand command)
    {
        if (!command.TransactionSuppressed)
        {
            return false;
        }

        if (command is DsqlBackfillMigrationCommand or DsqlHistoryRowCommand)
        {
            return true;
        }

        if (SingleStatement(command) is not { } sql)
        {
            return false;
        }

        if (StartsWithAny(sql, RerunnablePrefixes))
        {
            return true;
        }

        return sql.StartsWith("ALTER TABLE ", StringComparison.Ordinal)
            && (sql.Contains(" ADD COLUMN ", StringComparison.Ordinal) || sql.Contains(" ADD CONSTRAINT ", StringComparison.Ordinal)
                || sql.Contains(" ALTER COLUMN ", StringComparison.Ordinal)
                && (sql.EndsWith(" DROP DEFAULT;", StringComparison.Ordinal) || sql.Contains(" SET DEFAULT ", StringComparison.Ordinal)));
    }

    /// <summary>
    ///     Whether the step may run while jobs started by earlier steps (index builds, constraint validations) are still
    ///     running: it only creates a table, schema, sequence or index, starts a job, or sets a comment, so nothing it does
    ///     depends on those jobs having completed. Any other step waits for them first.
    /// </summary>
    public static bool MayRunWhileJobsArePending(MigrationCommand command)
        => command is DsqlJobMigrationCommand
            || command.TransactionSuppressed && command is not (DsqlBackfillMigrationCommand or DsqlHistoryRowCommand)
            && SingleStatement(command) is { } sql && StartsWithAny(sql, CreatingPrefixes);

    /// <summary>The step's trimmed text, or <see langword="null" /> when it may hold more than one statement (only <c>Sql(…)</c> writes that).</summary>
    private static string? SingleStatement(MigrationCommand command)
    {
        var sql = command.CommandText.Trim();
        return sql.TrimEnd(';').Contains(';', StringComparison.Ordinal) ? null : sql;
    }

    private static bool StartsWithAny(string sql, string[] prefixes)
        => prefixes.Any(p => sql.StartsWith(p, StringComparison.Ordinal));

    /// <summary>
    ///     Whether <paramref name="error" />, answered by a step whose fate is unknown, means that the step had committed:
    ///     "already exists" for a step that creates, "does not exist" for one that drops or renames. A step that failed for
    ///     any other reason is never taken as applied.
    /// </summary>
    public static bool IsAlreadyApplied(MigrationCommand command, PostgresException error)
    {
        if (!command.TransactionSuppressed)
        {
            return false;
        }

        var exists = error.SqlState is PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.DuplicateColumn
            or PostgresErrorCodes.DuplicateObject or PostgresErrorCodes.DuplicateSchema or PostgresErrorCodes.UniqueViolation;
        var missing = error.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedColumn
            or PostgresErrorCodes.UndefinedObject;
        if (IsRerunnable(command))
        {
            return exists;
        }

        var sql = command.CommandText.TrimStart();
        if (sql.StartsWith("DROP ", StringComparison.Ordinal) || sql.Contains(" DROP ", StringComparison.Ordinal)
            || sql.Contains(" RENAME ", StringComparison.Ordinal))
        {
            return missing;
        }

        // Sql(…) and other statements: either answer may be the trace of a first run.
        return exists || missing;
    }
}
