using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace EFCore.Dsql.FunctionalTests.Migrations.Shop;

/// <summary>A context whose second migration adds a required column with a default to a table of more rows than DSQL's limit.</summary>
public sealed class BackfillContext(DbContextOptions<BackfillContext> options) : DbContext(options)
{
    /// <summary>The schema of everything the context's migrations create.</summary>
    public const string Schema = "bulk";

    /// <summary>A context over <paramref name="dataSource" />, configured as applications do (retries off: a test sees every failure).</summary>
    public static BackfillContext Create(NpgsqlDataSource dataSource)
        => new(DsqlTestOptions.WithoutRetries<BackfillContext>(dataSource, Schema));

    /// <summary>The target model of <see cref="AddReadingRank" />, as its scaffolded designer file would build it.</summary>
    internal static void BuildReadings(ModelBuilder modelBuilder, bool withRank)
        => modelBuilder.Entity("Reading", b =>
        {
            b.Property<long>("Id").HasColumnType("bigint");
            b.Property<string>("Name").IsRequired().HasColumnType("text");
            if (withRank)
            {
                b.Property<int>("Rank").HasColumnType("integer").HasDefaultValue(7);
            }

            b.HasKey("Id");
            b.ToTable("Readings", Schema);
        });
}

/// <summary>Creates the table.</summary>
[DbContext(typeof(BackfillContext))]
[Migration(Id)]
public sealed class CreateReadings : Migration
{
    /// <summary>The migration id.</summary>
    public const string Id = "20260301000001_CreateReadings";

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.EnsureSchema(BackfillContext.Schema);
        migrationBuilder.CreateTable(
            name: "Readings",
            schema: BackfillContext.Schema,
            columns: table => new
            {
                Id = table.Column<long>(type: "bigint", nullable: false),
                Name = table.Column<string>(type: "text", nullable: false)
            },
            constraints: table => table.PrimaryKey("PK_Readings", x => x.Id));
    }

    /// <inheritdoc />
    protected override void BuildTargetModel(ModelBuilder modelBuilder)
        => BackfillContext.BuildReadings(modelBuilder, withRank: false);
}

/// <summary>Adds a required column with a default to a populated table.</summary>
[DbContext(typeof(BackfillContext))]
[Migration(Id)]
public sealed class AddReadingRank : Migration
{
    /// <summary>The migration id.</summary>
    public const string Id = "20260301000002_AddReadingRank";

    /// <inheritdoc />
    protected override void Up(MigrationBuilder migrationBuilder)
        => migrationBuilder.AddColumn<int>(
            name: "Rank", schema: BackfillContext.Schema, table: "Readings", type: "integer", nullable: false, defaultValue: 7);

    /// <inheritdoc />
    protected override void BuildTargetModel(ModelBuilder modelBuilder)
        => BackfillContext.BuildReadings(modelBuilder, withRank: true);
}
