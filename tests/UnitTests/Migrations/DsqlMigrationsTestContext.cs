#pragma warning disable EF1001 // The tests exercise the internal migration services directly.

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Microsoft.Extensions.DependencyInjection;

namespace EFCore.Dsql.UnitTests.Migrations;

/// <summary>An offline context whose internal service provider has Npgsql plus the DSQL migration services.</summary>
internal sealed class DsqlMigrationsTestContext : DbContext
{
    private static readonly IServiceProvider Services = new ServiceCollection()
        .AddEntityFrameworkNpgsql()
        .AddDsqlMigrations()
        .BuildServiceProvider(validateScopes: true);

    public DsqlMigrationsTestContext()
        : base(new DbContextOptionsBuilder<DsqlMigrationsTestContext>()
            .UseNpgsql("Host=localhost;Database=postgres;Username=admin")
            .UseInternalServiceProvider(Services)
            .Options)
    {
    }

    /// <summary>Generates the commands for the operations as the migrator would for the migration <paramref name="migrationId" />.</summary>
    public static IReadOnlyList<MigrationCommand> Generate(string? migrationId, params MigrationOperation[] operations)
    {
        using var context = new DsqlMigrationsTestContext();
        var generator = (DsqlMigrationsSqlGenerator)context.GetService<IMigrationsSqlGenerator>();
        generator.MigrationId = migrationId;
        return generator.Generate(operations);
    }

    /// <summary>Generates the commands for the operations, outside of any migration.</summary>
    public static IReadOnlyList<MigrationCommand> Generate(params MigrationOperation[] operations)
        => Generate("20260101000000_Test", operations);

    /// <summary>The command texts, one per command, with line endings normalised.</summary>
    public static string[] Sql(IReadOnlyList<MigrationCommand> commands)
        => commands.Select(c => c.CommandText.ReplaceLineEndings("\n")).ToArray();
}
