using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     Fills a new or newly required column's nulls with its default. DSQL caps a transaction at 3,000 changed rows, so the
///     migrator runs the update in batches of <see cref="BatchSize" /> rows, each committed on its own (the update is
///     idempotent: it only touches rows still null), until a batch finds fewer rows. Scripts carry the single statement.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed class DsqlBackfillMigrationCommand : MigrationCommand
{
    /// <summary>Rows per batch, well under DSQL's transaction limit.</summary>
    internal const int BatchSize = DsqlLimits.BackfillBatchRows;

    private readonly DbContext? _context;
    private readonly IRawSqlCommandBuilder _rawSqlCommandBuilder;

    /// <summary>Creates the command.</summary>
    public DsqlBackfillMigrationCommand(
        IRelationalCommand singleStatement,
        DbContext? context,
        IRelationalCommandDiagnosticsLogger logger,
        IRawSqlCommandBuilder rawSqlCommandBuilder,
        string batchSql)
        : base(singleStatement, context, logger, transactionSuppressed: true)
    {
        _context = context;
        _rawSqlCommandBuilder = rawSqlCommandBuilder;
        BatchSql = batchSql;
    }

    /// <summary>The statement that fills one batch.</summary>
    public string BatchSql { get; }

    /// <inheritdoc />
    public override int ExecuteNonQuery(IRelationalConnection connection, IReadOnlyDictionary<string, object?>? parameterValues = null)
    {
        var total = 0;
        int rows;
        do
        {
            rows = _rawSqlCommandBuilder.Build(BatchSql).ExecuteNonQuery(Parameters(connection));
            total += rows;
        }
        while (rows >= BatchSize);

        return total;
    }

    /// <inheritdoc />
    public override async Task<int> ExecuteNonQueryAsync(
        IRelationalConnection connection,
        IReadOnlyDictionary<string, object?>? parameterValues = null,
        CancellationToken cancellationToken = default)
    {
        var total = 0;
        int rows;
        do
        {
            rows = await _rawSqlCommandBuilder.Build(BatchSql).ExecuteNonQueryAsync(Parameters(connection), cancellationToken)
                .ConfigureAwait(false);
            total += rows;
        }
        while (rows >= BatchSize);

        return total;
    }

    private RelationalCommandParameterObject Parameters(IRelationalConnection connection)
        => new(connection, null, null, _context, CommandLogger, CommandSource.Migrations);
}
