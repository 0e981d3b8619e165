using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

namespace EFCore.Dsql.FunctionalTests.Migrations.Shop;

/// <summary>Customers and their orders: a schema, identity keys, a foreign key inline, an index.</summary>
[DbContext(typeof(ShopContext))]
[Migration(Id)]
public sealed class Initial : Migration
{
    /// <summary>The migration id.</summary>
    public const string Id = "20260101000001_Initial";

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.EnsureSchema(name: "shop");

        migrationBuilder.CreateTable(
            name: "Customers",
            schema: "shop",
            columns: table => new
            {
                Id = table.Column<long>(type: "bigint", nullable: false)
                    .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                Name = table.Column<string>(type: "character varying(100)", maxLength: 100, nullable: false)
            },
            constraints: table => table.PrimaryKey("PK_Customers", x => x.Id));

        migrationBuilder.CreateTable(
            name: "Orders",
            schema: "shop",
            columns: table => new
            {
                Id = table.Column<Guid>(type: "uuid", nullable: false, defaultValueSql: "gen_random_uuid()"),
                CustomerId = table.Column<long>(type: "bigint", nullable: false),
                Note = table.Column<string>(type: "text", nullable: true)
            },
            constraints: table =>
            {
                table.PrimaryKey("PK_Orders", x => x.Id);
                table.ForeignKey(
                    name: "FK_Orders_Customers_CustomerId",
                    column: x => x.CustomerId,
                    principalSchema: "shop",
                    principalTable: "Customers",
                    principalColumn: "Id",
                    onDelete: ReferentialAction.Cascade);
            });

        migrationBuilder.CreateIndex(name: "IX_Orders_CustomerId", schema: "shop", table: "Orders", column: "CustomerId");
    }

    /// <inheritdoc />
    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropTable(name: "Orders", schema: "shop");
        migrationBuilder.DropTable(name: "Customers", schema: "shop");
    }
}

/// <summary>A nullable column and a unique index on it.</summary>
[DbContext(typeof(ShopContext))]
[Migration(Id)]
public sealed class AddCustomerEmail : Migration
{
    /// <summary>The migration id.</summary>
    public const string Id = "20260101000002_AddCustomerEmail";

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.AddColumn<string>(name: "Email", schema: "shop", table: "Customers", type: "text", nullable: true);
        migrationBuilder.CreateIndex(name: "IX_Customers_Email", schema: "shop", table: "Customers", column: "Email", unique: true);
    }

    /// <inheritdoc />
    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropIndex(name: "IX_Customers_Email", schema: "shop", table: "Customers");
        migrationBuilder.DropColumn(name: "Email", schema: "shop", table: "Customers");
    }
}

/// <summary>A required column with a default on a table that has rows, and a renamed column.</summary>
[DbContext(typeof(ShopContext))]
[Migration(Id)]
public sealed class AddOrderQuantity : Migration
{
    /// <summary>The migration id.</summary>
    public const string Id = "20260101000003_AddOrderQuantity";

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.AddColumn<int>(name: "Quantity", schema: "shop", table: "Orders", type: "integer", nullable: false, defaultValue: 1);
        migrationBuilder.RenameColumn(name: "Note", schema: "shop", table: "Orders", newName: "Comment");
    }

    /// <inheritdoc />
    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.RenameColumn(name: "Comment", schema: "shop", table: "Orders", newName: "Note");
        migrationBuilder.DropColumn(name: "Quantity", schema: "shop", table: "Orders");
    }
}

/// <summary>A new table, and a foreign key to it added to an existing table, and a composite index.</summary>
[DbContext(typeof(ShopContext))]
[Migration(Id)]
public sealed class AddProducts : Migration
{
    /// <summary>The migration id.</summary>
    public const string Id = "20260101000004_AddProducts";

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.CreateTable(
            name: "Products",
            schema: "shop",
            columns: table => new
            {
                Id = table.Column<int>(type: "integer", nullable: false),
                Name = table.Column<string>(type: "text", nullable: false),
                Price = table.Column<decimal>(type: "numeric(10,2)", nullable: false)
            },
            constraints: table => table.PrimaryKey("PK_Products", x => x.Id));

        migrationBuilder.AddColumn<int>(name: "ProductId", schema: "shop", table: "Orders", type: "integer", nullable: true);

        migrationBuilder.CreateIndex(
            name: "IX_Orders_CustomerId_ProductId", schema: "shop", table: "Orders", columns: ["CustomerId", "ProductId"]);

        migrationBuilder.AddForeignKey(
            name: "FK_Orders_Products_ProductId",
            schema: "shop",
            table: "Orders",
            column: "ProductId",
            principalSchema: "shop",
            principalTable: "Products",
            principalColumn: "Id");
    }

    /// <inheritdoc />
    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropForeignKey(name: "FK_Orders_Products_ProductId", schema: "shop", table: "Orders");
        migrationBuilder.DropIndex(name: "IX_Orders_CustomerId_ProductId", schema: "shop", table: "Orders");
        migrationBuilder.DropColumn(name: "ProductId", schema: "shop", table: "Orders");
        migrationBuilder.DropTable(name: "Products", schema: "shop");
    }
}

/// <summary>A sequence and a column that draws its default from it.</summary>
[DbContext(typeof(ShopContext))]
[Migration(Id)]
public sealed class AddOrderNumbers : Migration
{
    /// <summary>The migration id.</summary>
    public const string Id = "20260101000005_AddOrderNumbers";

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.CreateSequence(name: "OrderNumbers", schema: "shop", startValue: 1000L);
        migrationBuilder.AddColumn<long>(
            name: "Number", schema: "shop", table: "Orders", type: "bigint", nullable: true,
            defaultValueSql: "nextval('shop.\"OrderNumbers\"')");
    }

    /// <inheritdoc />
    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropColumn(name: "Number", schema: "shop", table: "Orders");
        migrationBuilder.DropSequence(name: "OrderNumbers", schema: "shop");
    }
}

/// <summary>Seed data, and a dropped column.</summary>
[DbContext(typeof(ShopContext))]
[Migration(Id)]
public sealed class SeedProducts : Migration
{
    /// <summary>The migration id.</summary>
    public const string Id = "20260101000006_SeedProducts";

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.InsertData(
            schema: "shop",
            table: "Products",
            columns: ["Id", "Name", "Price"],
            columnTypes: ["integer", "text", "numeric(10,2)"],
            values: new object[,] { { 1, "Tea", 3.5m }, { 2, "Coffee", 4.25m } });

        migrationBuilder.DropColumn(name: "Comment", schema: "shop", table: "Orders");
    }

    /// <inheritdoc />
    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.AddColumn<string>(name: "Comment", schema: "shop", table: "Orders", type: "text", nullable: true);
        migrationBuilder.DeleteData(schema: "shop", table: "Products", keyColumn: "Id", keyColumnType: "integer", keyValues: new object[] { 1, 2 });
    }
}

/// <summary>A check constraint on a table with rows.</summary>
[DbContext(typeof(ShopContext))]
[Migration(Id)]
public sealed class AddOrderTotalCheck : Migration
{
    /// <summary>The migration id.</summary>
    public const string Id = "20260101000007_AddOrderTotalCheck";

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
        => migrationBuilder.AddCheckConstraint(name: "CK_Orders_Quantity", schema: "shop", table: "Orders", sql: "\"Quantity\" > 0");

    /// <inheritdoc />
    protected override void Down(MigrationBuilder migrationBuilder)
        => migrationBuilder.DropCheckConstraint(name: "CK_Orders_Quantity", schema: "shop", table: "Orders");
}
