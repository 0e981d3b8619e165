using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     A migration command whose statement starts an asynchronous DSQL job (<c>CREATE INDEX ASYNC</c>,
///     <c>ALTER TABLE ASYNC … VALIDATE CONSTRAINT</c>). DSQL answers such a statement with one row holding the
///     job's id; this command reads it so that the executor can wait for the job with <c>sys.wait_for_job</c>.
///     Always transaction-suppressed: the statement is DDL and <c>wait_for_job</c> runs outside a transaction.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed class DsqlJobMigrationCommand : MigrationCommand
{
    private readonly IRelationalCommand _relationalCommand;
    private readonly DbContext? _context;
    private readonly IRawSqlCommandBuilder _rawSqlCommandBuilder;

    /// <summary>Creates the command.</summary>
    public DsqlJobMigrationCommand(
        IRelationalCommand relationalCommand,
        DbContext? context,
        IRelationalCommandDiagnosticsLogger logger,
        IRawSqlCommandBuilder rawSqlCommandBuilder,
        string? qualifiedIndexName = null)
        : base(relationalCommand, context, logger, transactionSuppressed: true)
    {
        _relationalCommand = relationalCommand;
        _context = context;
        _rawSqlCommandBuilder = rawSqlCommandBuilder;
        QualifiedIndexName = qualifiedIndexName;
    }

    /// <summary>The delimited, schema-qualified name of the index the statement builds, when it builds one.</summary>
    public string? QualifiedIndexName { get; }

    /// <summary>The id of the job the last execution started, or <see langword="null" /> when DSQL returned none.</summary>
    public string? LastJobId { get; private set; }

    /// <inheritdoc />
    public override int ExecuteNonQuery(IRelationalConnection connection, IReadOnlyDictionary<string, object?>? parameterValues = null)
    {
        using var reader = _relationalCommand.ExecuteReader(Parameters(connection, parameterValues));
        LastJobId = ReadJobId(reader.DbDataReader);
        return -1;
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteNonQueryAsync(
        IRelationalConnection connection,
        IReadOnlyDictionary<string, object?>? parameterValues = null,
        CancellationToken cancellationToken = default)
    {
        var reader = await _relationalCommand.ExecuteReaderAsync(Parameters(connection, parameterValues), cancellationToken)
            .ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            LastJobId = await ReadJobIdAsync(reader.DbDataReader, cancellationToken).ConfigureAwait(false);
        }

        return -1;
    }

    /// <summary>Blocks until the last started job ends; throws when DSQL reports that it failed.</summary>
    public void WaitForJob(IRelationalConnection connection)
    {
        if (LastJobId is null)
        {
            return;
        }

        var succeeded = _rawSqlCommandBuilder.Build(WaitSql(LastJobId)).ExecuteScalar(Parameters(connection, null));
        ThrowIfFailed(succeeded);
    }

    /// <summary>Waits asynchronously until the last started job ends; throws when DSQL reports that it failed.</summary>
    public async Task WaitForJobAsync(IRelationalConnection connection, CancellationToken cancellationToken)
    {
        if (LastJobId is null)
        {
            return;
        }

        var succeeded = await _rawSqlCommandBuilder.Build(WaitSql(LastJobId))
            .ExecuteScalarAsync(Parameters(connection, null), cancellationToken)
            .ConfigureAwait(false);
        ThrowIfFailed(succeeded);
    }

    /// <summary>
    ///     Blocks until every job the <paramref name="pending" /> commands started ends, then forgets them. One round trip:
    ///     one <c>CALL sys.wait_for_job</c> per job, pipelined with a Sync after each (Npgsql's error barriers), so that each
    ///     runs outside a transaction as DSQL requires. Throws when DSQL reports that a job failed.
    /// </summary>
    internal static void WaitForPendingJobs(List<DsqlJobMigrationCommand> pending, IRelationalConnection connection)
    {
        var started = pending.Where(c => c.LastJobId is not null).ToList();
        if (started.Count <= 1)
        {
            // One job needs no batch: EF's command pipeline, which logs it.
            started.SingleOrDefault()?.WaitForJob(connection);
        }
        else
        {
            using var batch = WaitBatch(started, connection);
            var anyFailed = false;
            using (var reader = batch.ExecuteReader())
            {
                do
                {
                    while (reader.Read())
                    {
                        anyFailed |= reader.FieldCount > 0 && reader.GetValue(0) is false;
                    }
                }
                while (reader.NextResult());
            }

            if (anyFailed)
            {
                ThrowFirstFailed(started, started[0]._rawSqlCommandBuilder.Build(FailedJobsSql(started))
                    .ExecuteScalar(started[0].Parameters(connection, null)) as string);
            }
        }

        pending.Clear();
    }

    /// <summary>The asynchronous twin of <see cref="WaitForPendingJobs" />.</summary>
    internal static async Task WaitForPendingJobsAsync(
        List<DsqlJobMigrationCommand> pending, IRelationalConnection connection, CancellationToken cancellationToken)
    {
        var started = pending.Where(c => c.LastJobId is not null).ToList();
        if (started.Count <= 1)
        {
            if (started.Count == 1)
            {
                await started[0].WaitForJobAsync(connection, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            await using var batch = WaitBatch(started, connection);
            var anyFailed = false;
            var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                do
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        anyFailed |= reader.FieldCount > 0 && reader.GetValue(0) is false;
                    }
                }
                while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false));
            }

            if (anyFailed)
            {
                ThrowFirstFailed(started, await started[0]._rawSqlCommandBuilder.Build(FailedJobsSql(started))
                    .ExecuteScalarAsync(started[0].Parameters(connection, null), cancellationToken).ConfigureAwait(false) as string);
            }
        }

        pending.Clear();
    }

    private static NpgsqlBatch WaitBatch(IReadOnlyList<DsqlJobMigrationCommand> started, IRelationalConnection connection)
    {
        // UseAuroraDsql's connections always come from an Npgsql data source.
        var batch = new NpgsqlBatch((NpgsqlConnection)connection.DbConnection) { EnableErrorBarriers = true };
        if (connection.CommandTimeout is { } timeout)
        {
            batch.Timeout = timeout;
        }

        foreach (var command in started)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(WaitSql(command.LastJobId!)));
        }

        return batch;
    }

    // A wait answers false without saying which job it was for: sys.jobs does.
    private static string FailedJobsSql(IReadOnlyList<DsqlJobMigrationCommand> started)
        => $"SELECT job_id FROM sys.jobs WHERE status = 'failed' AND job_id IN ({string.Join(", ", started.Select(c => $"'{c.LastJobId}'"))}) LIMIT 1";

    private static void ThrowFirstFailed(IReadOnlyList<DsqlJobMigrationCommand> started, string? failedJobId)
    {
        started.FirstOrDefault(c => c.LastJobId == failedJobId)?.ThrowIfFailed(false);
        throw new InvalidOperationException(
            $"Aurora DSQL reported that one of the jobs {string.Join(", ", started.Select(c => $"'{c.LastJobId}'"))} started by this "
            + "migration failed. A failed index build leaves an invalid index behind: fix the data (for a unique index, remove the "
            + "duplicates), drop the invalid index with DROP INDEX, then run the migration again. sys.jobs shows which job failed and why.");
    }

    /// <summary>
    ///     A resumed migration found the index this command builds already there (the interrupted run created it). Makes sure
    ///     it is usable: waits for its build job if one is still running, and throws when the build failed.
    /// </summary>
    public void EnsureExistingIndexIsValid(IRelationalConnection connection, bool waitForJobs)
    {
        if (QualifiedIndexName is null)
        {
            return;
        }

        using (var reader = _rawSqlCommandBuilder.Build(IndexStateSql(QualifiedIndexName)).ExecuteReader(Parameters(connection, null)))
        {
            if (!reader.Read() || reader.DbDataReader.GetBoolean(0))
            {
                return;
            }

            LastJobId = reader.DbDataReader.IsDBNull(1) ? null : ValidJobId(reader.DbDataReader.GetValue(1));
        }

        if (LastJobId is not null && waitForJobs)
        {
            WaitForJob(connection);
            using var reader = _rawSqlCommandBuilder.Build(IndexStateSql(QualifiedIndexName)).ExecuteReader(Parameters(connection, null));
            if (!reader.Read() || reader.DbDataReader.GetBoolean(0))
            {
                return;
            }
        }

        if (LastJobId is null || waitForJobs)
        {
            throw InvalidIndex();
        }
    }

    /// <summary>The asynchronous twin of <see cref="EnsureExistingIndexIsValid" />.</summary>
    public async Task EnsureExistingIndexIsValidAsync(IRelationalConnection connection, bool waitForJobs, CancellationToken cancellationToken)
    {
        if (QualifiedIndexName is null)
        {
            return;
        }

        var (valid, jobId) = await ReadIndexStateAsync(connection, cancellationToken).ConfigureAwait(false);
        if (valid)
        {
            return;
        }

        LastJobId = jobId;
        if (LastJobId is not null && waitForJobs)
        {
            await WaitForJobAsync(connection, cancellationToken).ConfigureAwait(false);
            if ((await ReadIndexStateAsync(connection, cancellationToken).ConfigureAwait(false)).Valid)
            {
                return;
            }
        }

        if (LastJobId is null || waitForJobs)
        {
            throw InvalidIndex();
        }
    }

    /// <summary>Whether the index is valid, and the job still building it if there is one.</summary>
    internal static string IndexStateSql(string qualifiedIndexName)
        => $"""
            SELECT i.indisvalid, (SELECT j.job_id FROM sys.jobs j WHERE j.object_id = i.indexrelid AND j.status IN ('submitted', 'processing') LIMIT 1)
            FROM pg_index i WHERE i.indexrelid = to_regclass('{qualifiedIndexName.Replace("'", "''", StringComparison.Ordinal)}')
            """;

    private async Task<(bool Valid, string? JobId)> ReadIndexStateAsync(IRelationalConnection connection, CancellationToken cancellationToken)
    {
        var reader = await _rawSqlCommandBuilder.Build(IndexStateSql(QualifiedIndexName!))
            .ExecuteReaderAsync(Parameters(connection, null), cancellationToken).ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false) || reader.DbDataReader.GetBoolean(0))
            {
                return (true, null);
            }

            return (false, reader.DbDataReader.IsDBNull(1) ? null : ValidJobId(reader.DbDataReader.GetValue(1)));
        }
    }

    private InvalidOperationException InvalidIndex()
        => new($"The index {QualifiedIndexName} exists but is not valid: the build job started by an interrupted run of this "
            + "migration failed. Fix the data (for a unique index, remove the duplicates), drop the index with DROP INDEX, then run "
            + "the migration again.");

    /// <summary>The statement that waits for a job; job ids are validated so that they can be inlined safely.</summary>
    internal static string WaitSql(string jobId)
        => $"CALL sys.wait_for_job('{jobId}')";

    private void ThrowIfFailed(object? succeeded)
    {
        // DSQL answers false (not an error) when the job failed, e.g. a unique index over duplicate values.
        if (succeeded is false)
        {
            throw new InvalidOperationException(
                $"Aurora DSQL job '{LastJobId}' started by the migration statement '{CommandText.Trim()}' failed. "
                + "A failed index build leaves an invalid index behind: fix the data (for a unique index, remove the duplicates), "
                + "drop the invalid index with DROP INDEX, then run the migration again. sys.jobs shows the job's details.");
        }
    }

    private RelationalCommandParameterObject Parameters(
        IRelationalConnection connection,
        IReadOnlyDictionary<string, object?>? parameterValues)
        => new(connection, parameterValues, null, _context, CommandLogger, CommandSource.Migrations);

    private static string? ReadJobId(DbDataReader reader)
        => reader.FieldCount > 0 && reader.Read() && !reader.IsDBNull(0) ? ValidJobId(reader.GetValue(0)) : null;

    private static async Task<string?> ReadJobIdAsync(DbDataReader reader, CancellationToken cancellationToken)
        => reader.FieldCount > 0 && await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && !reader.IsDBNull(0)
            ? ValidJobId(reader.GetValue(0))
            : null;

    private static string ValidJobId(object value)
    {
        var id = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "";
        if (id.Length == 0 || !id.All(char.IsAsciiLetterOrDigit) && !Guid.TryParse(id, out _))
        {
            throw new InvalidOperationException(
                $"Aurora DSQL answered an asynchronous DDL statement with an unexpected job id '{id}'; expected letters and digits.");
        }

        return id;
    }
}
