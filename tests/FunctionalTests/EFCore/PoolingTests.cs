#pragma warning disable EF1001 // tests reach into EFCore.Dsql internals on purpose
using Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EFCore.Dsql.FunctionalTests.EFCore;

[Collection(PostgresCollection.Name)]
public sealed class PoolingTests(PostgresFixture fixture)
{
    public sealed class Context(DbContextOptions<Context> options) : BloggingContext(options, "pool_");

    private const int MaxPoolSize = 8;
    private readonly PostgresTarget _target = new(fixture);

    [Theory]
    [InlineData("AddDbContextPool")]
    [InlineData("AddPooledDbContextFactory")]
    [InlineData("AddDbContext")]
    [InlineData("AddDbContextFactory")]
    public async Task A_thousand_contexts_in_parallel_never_open_more_physical_connections_than_the_pool_maximum(string registration)
    {
        var physicalConnections = 0;
        void Configure(DbContextOptionsBuilder b) => _target.Configure(
            b,
            o => o.Npgsql(n => n.ConfigureDataSource(d => d.UsePhysicalConnectionInitializer(
                _ => Interlocked.Increment(ref physicalConnections),
                _ => { Interlocked.Increment(ref physicalConnections); return Task.CompletedTask; }))),
            MaxPoolSize,
            "pooling-" + registration);

        var services = new ServiceCollection();
        _ = registration switch
        {
            "AddDbContextPool" => services.AddDbContextPool<Context>(Configure),
            "AddPooledDbContextFactory" => services.AddPooledDbContextFactory<Context>(Configure),
            "AddDbContext" => services.AddDbContext<Context>(Configure),
            _ => services.AddDbContextFactory<Context>(Configure),
        };
        await using var provider = services.BuildServiceProvider();

        var results = await Task.WhenAll(Enumerable.Range(0, 1000).Select(i => Task.Run(async () =>
        {
            if (registration.Contains("Factory"))
            {
                await using var context = await provider.GetRequiredService<IDbContextFactory<Context>>().CreateDbContextAsync();
                return await context.Database.SqlQuery<int>($"SELECT {i} AS \"Value\"").SingleAsync();
            }

            await using var scope = provider.CreateAsyncScope();
            var scoped = scope.ServiceProvider.GetRequiredService<Context>();
            return await scoped.Database.SqlQuery<int>($"SELECT {i} AS \"Value\"").SingleAsync();
        })));

        Assert.Equal(Enumerable.Range(0, 1000), results);
        Assert.InRange(physicalConnections, 1, MaxPoolSize);

        // Every context of the registration shares one data source.
        var dataSources = new HashSet<object>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < 3; i++)
        {
            await using var probe = provider.CreateAsyncScope();
            var context = registration.Contains("Factory")
                ? await probe.ServiceProvider.GetRequiredService<IDbContextFactory<Context>>().CreateDbContextAsync()
                : probe.ServiceProvider.GetRequiredService<Context>();
            dataSources.Add(((DsqlRelationalConnection)context.GetService<IRelationalConnection>()).DbDataSource!);
        }

        Assert.Single(dataSources);
    }
}
