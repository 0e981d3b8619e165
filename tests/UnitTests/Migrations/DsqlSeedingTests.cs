#pragma warning disable EF1001 // The tests exercise the internal migration services directly.

using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Operations;
using Microsoft.Extensions.DependencyInjection;

namespace EFCore.Dsql.UnitTests.Migrations;

public class DsqlSeedingTests
{
    [Fact]
    public void Seeding_identity_tables_bumps_each_sequence_in_a_data_command_of_its_own()
    {
        using var context = new SeedContext();
        var generator = (DsqlMigrationsSqlGenerator)context.GetService<IMigrationsSqlGenerator>();
        var model = context.GetService<IDesignTimeModel>().Model;

        var commands = generator.Generate(
            [
                new InsertDataOperation { Table = "Colors", Columns = ["Id", "Name"], Values = new object?[,] { { 1L, "red" } } },
                new InsertDataOperation { Table = "Sizes", Columns = ["Id", "Name"], Values = new object?[,] { { 1L, "S" } } }
            ],
            model);

        Assert.Equal(
            [
                "INSERT INTO \"Colors\" (\"Id\", \"Name\")\nVALUES (1, 'red');\n",
                "INSERT INTO \"Sizes\" (\"Id\", \"Name\")\nVALUES (1, 'S');\n",
                "SELECT setval(pg_get_serial_sequence('\"Colors\"', 'Id'), GREATEST((SELECT MAX(\"Id\") FROM \"Colors\") + 1, nextval(pg_get_serial_sequence('\"Colors\"', 'Id'))), false);\n",
                "SELECT setval(pg_get_serial_sequence('\"Sizes\"', 'Id'), GREATEST((SELECT MAX(\"Id\") FROM \"Sizes\") + 1, nextval(pg_get_serial_sequence('\"Sizes\"', 'Id'))), false);\n"
            ],
            DsqlMigrationsTestContext.Sql(commands));
        Assert.All(commands, c => Assert.False(c.TransactionSuppressed));
    }

    private sealed class SeedContext : DbContext
    {
        private static readonly IServiceProvider Services = new ServiceCollection()
            .AddEntityFrameworkNpgsql()
            .AddDsqlMigrations()
            .BuildServiceProvider(validateScopes: true);

        public SeedContext()
            : base(new DbContextOptionsBuilder<SeedContext>()
                .UseNpgsql("Host=localhost;Database=postgres;Username=admin")
                .UseInternalServiceProvider(Services)
                .Options)
        {
        }

        protected override void OnModelCreating(ModelBuilder modelBuilder)
        {
            modelBuilder.Entity<Color>().ToTable("Colors").Property(c => c.Id).UseIdentityByDefaultColumn();
            modelBuilder.Entity<Size>().ToTable("Sizes").Property(c => c.Id).UseIdentityByDefaultColumn();
        }
    }

    private sealed class Color
    {
        public long Id { get; set; }

        public string Name { get; set; } = "";
    }

    private sealed class Size
    {
        public long Id { get; set; }

        public string Name { get; set; } = "";
    }
}
