using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Storage;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     The last command of a migration: the statement that adds its row to the history table (or, reverting it, removes the
///     row). Running it again is harmless — the history's primary key answers "already exists" to a second insert, a second
///     delete removes nothing — so the migrator records no progress around it.
/// </summary>
internal sealed class DsqlHistoryRowCommand(
    IRelationalCommand relationalCommand,
    DbContext? context,
    IRelationalCommandDiagnosticsLogger logger,
    bool transactionSuppressed,
    bool removesRow)
    : MigrationCommand(relationalCommand, context, logger, transactionSuppressed)
{
    /// <summary>Whether the command removes the row (the migration is being reverted).</summary>
    public bool RemovesRow { get; } = removesRow;
}
