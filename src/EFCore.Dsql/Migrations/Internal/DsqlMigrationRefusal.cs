using System.Text;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     Builds the exception thrown when a migration operation cannot run on Aurora DSQL. The message names the
///     migration, the table, the column (when there is one), what DSQL refuses and a recipe that reaches the goal.
/// </summary>
internal static class DsqlMigrationRefusal
{
    /// <summary>Creates the exception for an operation DSQL cannot perform.</summary>
    public static NotSupportedException Create(
        string? migrationId,
        string what,
        string? schema,
        string? table,
        string? column,
        string recipe)
    {
        var message = new StringBuilder("Aurora DSQL cannot run this migration operation: ")
            .Append(what)
            .Append(" (migration '")
            .Append(migrationId ?? "<not known: SQL generated outside the migrator>")
            .Append('\'');

        if (table is not null)
        {
            message.Append(", table '").Append(schema is null ? table : schema + "." + table).Append('\'');
        }

        if (column is not null)
        {
            message.Append(", column '").Append(column).Append('\'');
        }

        message.Append("). ").Append(recipe);
        return new NotSupportedException(message.ToString());
    }
}
