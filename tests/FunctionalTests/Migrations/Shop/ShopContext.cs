namespace EFCore.Dsql.FunctionalTests.Migrations.Shop;

/// <summary>
///     The context whose hand-written migrations (in the style <c>dotnet ef migrations add</c> scaffolds) evolve a small shop
///     on the <c>shop</c> schema through seven steps. Its history and lock tables live in <c>shop</c> too, so that dropping
///     that schema resets everything.
/// </summary>
public sealed class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options)
{
    /// <summary>The schema of everything the shop migrations create.</summary>
    public const string Schema = "shop";

    /// <summary>The migration ids, in order.</summary>
    public static readonly string[] MigrationIds =
    [
        Initial.Id, AddCustomerEmail.Id, AddOrderQuantity.Id, AddProducts.Id, AddOrderNumbers.Id, SeedProducts.Id, AddOrderTotalCheck.Id
    ];
}
