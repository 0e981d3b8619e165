#pragma warning disable EF1001 // tests reach into EFCore.Dsql and Npgsql internals on purpose

namespace EFCore.Dsql.UnitTests.EFCore;

public sealed class Parent
{
    public long Id { get; set; }
    public List<Child> Children { get; set; } = [];
}

public sealed class Child
{
    public long Id { get; set; }
    public long ParentId { get; set; }
}

public class DatabaseCreatorAndConnectionTests
{
    [Fact]
    public void EnsureDeleted_drops_dependents_first_and_only_if_they_exist()
    {
        using var context = new ModelContext(m =>
        {
            m.Entity<Parent>().ToTable("parents", "shop");
            m.Entity<Child>().ToTable("children", "shop");
        });

        var creator = (DsqlDatabaseCreator)context.GetService<IRelationalDatabaseCreator>();

        Assert.Equal(
            ["DROP TABLE IF EXISTS shop.children", "DROP TABLE IF EXISTS shop.parents"],
            creator.GetDropStatements());
    }

    [Fact]
    public void SetConnectionString_keeps_IAM_authentication_with_a_data_source_for_the_new_endpoint()
    {
        using var context = new DbContext(TestEndpoints.Options());
        var connection = (DsqlRelationalConnection)context.GetService<IRelationalConnection>();
        var original = connection.DbDataSource;

        context.Database.SetConnectionString("zyxwvutsrqponmlkjihgfedcba.dsql.us-east-1.on.aws");

        var replaced = Assert.IsAssignableFrom<NpgsqlDataSource>(connection.DbDataSource);
        Assert.NotSame(original, replaced);
        var settings = new NpgsqlConnectionStringBuilder(replaced.ConnectionString);
        Assert.Equal(("zyxwvutsrqponmlkjihgfedcba.dsql.us-east-1.on.aws", "admin", SslMode.VerifyFull), (settings.Host, settings.Username, settings.SslMode));
        Assert.Null(settings.Password);
    }
}
