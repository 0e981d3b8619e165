#pragma warning disable EF1001 // The tests wire the internal migration services directly.

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace EFCore.Dsql.FunctionalTests.Migrations.Shop;

/// <summary>A context whose second migration changes a column's type, which DSQL cannot do.</summary>
public sealed class RefusedContext(DbContextOptions<RefusedContext> options) : DbContext(options)
{
    private static readonly IServiceProvider Services = new ServiceCollection()
        .AddEntityFrameworkNpgsql()
        .AddDsqlMigrations()
        .BuildServiceProvider(validateScopes: true);

    /// <summary>A context over <paramref name="dataSource" /> with the DSQL migration services.</summary>
    public static RefusedContext Create(NpgsqlDataSource dataSource)
        => new(new DbContextOptionsBuilder<RefusedContext>()
            .UseNpgsql(dataSource, npgsql => npgsql.MigrationsHistoryTable("__EFMigrationsHistory", "refused"))
            .UseInternalServiceProvider(Services)
            .Options);
}

/// <summary>Creates a table.</summary>
[DbContext(typeof(RefusedContext))]
[Migration("20260201000001_Things")]
public sealed class CreateThings : Migration
{
    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.EnsureSchema("refused");
        migrationBuilder.CreateTable(
            name: "Things",
            schema: "refused",
            columns: table => new
            {
                Id = table.Column<int>(type: "integer", nullable: false),
                Name = table.Column<string>(type: "character varying(20)", nullable: true)
            },
            constraints: table => table.PrimaryKey("PK_Things", x => x.Id));
    }
}

/// <summary>Widens a column: refused on DSQL.</summary>
[DbContext(typeof(RefusedContext))]
[Migration("20260201000002_WidenName")]
public sealed class WidenName : Migration
{
    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
        => migrationBuilder.AlterColumn<string>(
            name: "Name", schema: "refused", table: "Things", type: "character varying(200)", nullable: true,
            oldClrType: typeof(string), oldType: "character varying(20)", oldNullable: true);
}
