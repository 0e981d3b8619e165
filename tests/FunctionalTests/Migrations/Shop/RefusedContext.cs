using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace EFCore.Dsql.FunctionalTests.Migrations.Shop;

/// <summary>A context whose second migration changes a column's type, which DSQL cannot do.</summary>
public sealed class RefusedContext(DbContextOptions<RefusedContext> options) : DbContext(options)
{
    /// <summary>A context over <paramref name="dataSource" />, configured as applications do (retries off: a test sees every failure).</summary>
    public static RefusedContext Create(NpgsqlDataSource dataSource)
        => new(DsqlTestOptions.WithoutRetries<RefusedContext>(dataSource, "refused"));
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
