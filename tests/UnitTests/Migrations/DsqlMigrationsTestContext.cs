#pragma warning disable EF1001 // The tests exercise the internal migration services directly.

using EFCore.Dsql.UnitTests.EFCore;
using Microsoft.EntityFrameworkCore.Migrations.Operations;

namespace EFCore.Dsql.UnitTests.Migrations;

/// <summary>An offline context configured as applications do, with <c>UseAuroraDsql</c>; it never opens a connection.</summary>
internal sealed class DsqlMigrationsTestContext : DbContext
{
    public DsqlMigrationsTestContext()
        : base(TestEndpoints.Options<DsqlMigrationsTestContext>())
    {
    }

    /// <summary>Generates the commands for the operations as the migrator would for the migration <paramref name="migrationId" />.</summary>
    public static IReadOnlyList<MigrationCommand> Generate(string? migrationId, params MigrationOperation[] operations)
    {
        using var context = new DsqlMigrationsTestContext();
        using var _ = context.GetService<DsqlCurrentMigration>().Begin(migrationId);
        return context.GetService<IMigrationsSqlGenerator>().Generate(operations);
    }

    /// <summary>Generates the commands for the operations, outside of any migration.</summary>
    public static IReadOnlyList<MigrationCommand> Generate(params MigrationOperation[] operations)
        => Generate("20260101000000_Test", operations);

    /// <summary>The command texts, one per command, with line endings normalised.</summary>
    public static string[] Sql(IReadOnlyList<MigrationCommand> commands)
        => commands.Select(c => c.CommandText.ReplaceLineEndings("\n")).ToArray();
}
