using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace EFCore.Dsql.FunctionalTests.Migrations.Shop;

/// <summary>A context whose one migration creates three tables with an index each: a run of creating steps with three index builds.</summary>
public sealed class CatalogContext(DbContextOptions<CatalogContext> options) : DbContext(options)
{
    /// <summary>The schema of everything the context's migration creates.</summary>
    public const string Schema = "catalog";

    /// <summary>The tables the migration creates, each with an index on its <c>Name</c>.</summary>
    public static readonly string[] Tables = ["Brands", "Shelves", "Labels"];

    /// <summary>A context over <paramref name="dataSource" /> (retries off: a test sees every failure).</summary>
    public static CatalogContext Create(NpgsqlDataSource dataSource, params IInterceptor[] interceptors)
        => Create(dataSource, retryOnFailure: false, interceptors);

    /// <summary>A context whose execution strategy retries transient failures (OCC conflicts among them) when asked.</summary>
    public static CatalogContext Create(NpgsqlDataSource dataSource, bool retryOnFailure, params IInterceptor[] interceptors)
    {
        var builder = new DbContextOptionsBuilder<CatalogContext>().UseAuroraDsqlForTests(dataSource, Schema, dsql =>
        {
            if (retryOnFailure)
            {
                dsql.EnableRetryOnFailure(3, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(50), null);
            }
            else
            {
                dsql.DisableRetryOnFailure();
            }
        });
        return new CatalogContext(builder.AddInterceptors(interceptors).Options);
    }
}

/// <summary>Creates <see cref="CatalogContext.Tables" />, each followed by a unique index on its name.</summary>
[DbContext(typeof(CatalogContext))]
[Migration(Id)]
public sealed class CreateCatalog : Migration
{
    /// <summary>The migration id.</summary>
    public const string Id = "20260401000001_CreateCatalog";

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.EnsureSchema(CatalogContext.Schema);
        foreach (var table in CatalogContext.Tables)
        {
            migrationBuilder.CreateTable(
                name: table,
                schema: CatalogContext.Schema,
                columns: t => new
                {
                    Id = t.Column<long>(type: "bigint", nullable: false),
                    Name = t.Column<string>(type: "text", nullable: false)
                },
                constraints: t => t.PrimaryKey($"PK_{table}", x => x.Id));
            migrationBuilder.CreateIndex($"IX_{table}_Name", table, "Name", CatalogContext.Schema, unique: true);
        }
    }
}
