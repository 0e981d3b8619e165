namespace EFCore.Dsql.IntegrationTests.EFCore;

/// <summary>EF Core through <c>UseAuroraDsql</c>: create, read, update, delete and the queries an application runs.</summary>
[Collection(ClusterCollection.Name)]
public sealed class EfCoreTests(StoreFixture store) : IClassFixture<StoreFixture>
{
    [ClusterFact]
    public async Task SaveChangesAsync_inserts_updates_and_deletes_a_customer_and_its_orders()
    {
        var customer = new Customer { Name = "Ada " + Guid.NewGuid(), City = "crud", Orders = [new Order { Quantity = 2, Total = 19.90m, PlacedAt = DateTimeOffset.UtcNow }] };
        await using (var context = store.CreateContext())
        {
            context.Customers.Add(customer);
            await context.SaveChangesAsync();
        }

        Assert.NotEqual(Guid.Empty, customer.Id);
        await using (var context = store.CreateContext())
        {
            var loaded = await context.Customers.Include(c => c.Orders).SingleAsync(c => c.Id == customer.Id);
            Assert.Equal(19.90m, Assert.Single(loaded.Orders).Total);
            loaded.Name = "Ada Lovelace";
            loaded.Orders[0].Quantity = 3;
            await context.SaveChangesAsync();
        }

        await using (var context = store.CreateContext())
        {
            var loaded = await context.Customers.Include(c => c.Orders).SingleAsync(c => c.Id == customer.Id);
            Assert.Equal(("Ada Lovelace", 3L), (loaded.Name, loaded.Orders[0].Quantity));
            context.Orders.RemoveRange(loaded.Orders);
            context.Customers.Remove(loaded);
            await context.SaveChangesAsync();
        }

        await using (var context = store.CreateContext())
        {
            Assert.False(await context.Customers.AnyAsync(c => c.Id == customer.Id));
        }
    }

    [ClusterFact]
    public void SaveChanges_and_queries_work_on_the_synchronous_path()
    {
        var city = "sync-" + Guid.NewGuid().ToString("N")[..8];
        using (var context = store.CreateContext())
        {
            context.Customers.AddRange(new Customer { Name = "B", City = city }, new Customer { Name = "A", City = city });
            Assert.Equal(2, context.SaveChanges());
        }

        using (var context = store.CreateContext())
        {
            Assert.Equal(["A", "B"], context.Customers.Where(c => c.City == city).OrderBy(c => c.Name).Select(c => c.Name).ToList());
            var first = context.Customers.Single(c => c.City == city && c.Name == "A");
            first.Name = "A2";
            context.SaveChanges();
            Assert.Equal(1, context.Customers.Count(c => c.City == city && c.Name == "A2"));
        }
    }

    [ClusterFact]
    public async Task Queries_filter_order_page_project_and_group_on_the_server()
    {
        var city = "query-" + Guid.NewGuid().ToString("N")[..8];
        var placed = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        await using (var context = store.CreateContext())
        {
            for (var i = 1; i <= 6; i++)
            {
                context.Customers.Add(new Customer
                {
                    Name = $"customer {i}",
                    City = city,
                    Orders = Enumerable.Range(1, i).Select(n => new Order { Quantity = n, Total = n * 10m, PlacedAt = placed.AddDays(n) }).ToList()
                });
            }

            await context.SaveChangesAsync();
        }

        await using (var context = store.CreateContext())
        {
            var page = await context.Customers.Where(c => c.City == city).OrderByDescending(c => c.Name).Skip(1).Take(2).Select(c => c.Name).ToListAsync();
            Assert.Equal(["customer 5", "customer 4"], page);

            var totals = await context.Orders.Where(o => o.Customer!.City == city)
                .GroupBy(o => o.Customer!.Name)
                .Select(g => new { Name = g.Key, Count = g.Count(), Sum = g.Sum(o => o.Total) })
                .OrderBy(g => g.Name)
                .ToListAsync();
            Assert.Equal(6, totals.Count);
            Assert.Equal((6, 210m), (totals[^1].Count, totals[^1].Sum));

            var late = await context.Orders.CountAsync(o => o.Customer!.City == city && o.PlacedAt > placed.AddDays(4));
            Assert.Equal(3, late); // orders 5 and 6 of customer 6, order 5 of customer 5

            // The schema is the run's generated identifier, not input; the city goes as a parameter.
#pragma warning disable EF1003
            var raw = await context.Customers.FromSqlRaw("SELECT * FROM " + ClusterFixture.Schema + ".store_customers WHERE \"City\" = {0}", city).CountAsync();
#pragma warning restore EF1003
            Assert.Equal(6, raw);
        }
    }

    [ClusterFact]
    public async Task ExecuteUpdate_and_ExecuteDelete_change_rows_without_loading_them()
    {
        var city = "bulk-" + Guid.NewGuid().ToString("N")[..8];
        await using var context = store.CreateContext();
        context.Customers.AddRange(Enumerable.Range(0, 5).Select(i => new Customer { Name = $"bulk {i}", City = city }));
        await context.SaveChangesAsync();

        Assert.Equal(5, await context.Customers.Where(c => c.City == city).ExecuteUpdateAsync(s => s.SetProperty(c => c.Name, c => c.Name + " updated")));
        Assert.Equal(5, await context.Customers.CountAsync(c => c.City == city && c.Name.EndsWith(" updated")));
        Assert.Equal(5, await context.Customers.Where(c => c.City == city).ExecuteDeleteAsync());
    }

    [ClusterFact]
    public async Task Explicit_transaction_commits_several_SaveChanges_as_one_unit_or_none()
    {
        var city = "unit-" + Guid.NewGuid().ToString("N")[..8];
        await using (var context = store.CreateContext())
        {
            var strategy = context.Database.CreateExecutionStrategy();
            await strategy.ExecuteAsync(async () =>
            {
                context.ChangeTracker.Clear();
                await using var transaction = await context.Database.BeginTransactionAsync();
                context.Customers.Add(new Customer { Name = "first", City = city });
                await context.SaveChangesAsync();
                context.Customers.Add(new Customer { Name = "second", City = city });
                await context.SaveChangesAsync();
                await transaction.CommitAsync();
            });
        }

        await using (var context = store.CreateContext())
        {
            await context.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
            {
                context.ChangeTracker.Clear();
                await using var transaction = await context.Database.BeginTransactionAsync();
                context.Customers.Add(new Customer { Name = "rolled back", City = city });
                await context.SaveChangesAsync();
                await transaction.RollbackAsync();
            });

            context.ChangeTracker.Clear();
            Assert.Equal(["first", "second"], await context.Customers.Where(c => c.City == city).OrderBy(c => c.Name).Select(c => c.Name).ToListAsync());
        }
    }
}
