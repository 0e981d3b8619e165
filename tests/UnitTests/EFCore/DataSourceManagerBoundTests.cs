#pragma warning disable EF1001 // tests reach into EFCore.Dsql internals on purpose
using Amazon.Runtime;
using Dsql.Npgsql;
using EFCore.Dsql.UnitTests.Npgsql;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace EFCore.Dsql.UnitTests.EFCore;

/// <summary>
/// <see cref="DsqlDataSourceManager"/> keeps a bounded number of data sources (connection pools): past the bound the
/// least recently rented one is evicted with a warning naming the likely cause, and disposed only once no context
/// holds it any more.
/// </summary>
public class DataSourceManagerBoundTests
{
    // Port 1 on the loopback refuses at once: opening a live data source fails with a connection error, a disposed one
    // with ObjectDisposedException.
    private static readonly DsqlConnectionOptions Local = DsqlConnectionOptions.Parse("Host=127.0.0.1;Port=1;SSL Mode=Disable;Timeout=1", "us-east-1");

    private static DsqlConnectionOptions WithKey(string accessKey) => Local.WithCredentials(new BasicAWSCredentials(accessKey, "secret-" + accessKey));

    [Fact]
    public void Past_the_bound_the_least_recently_rented_data_source_is_evicted_disposed_and_a_warning_names_the_likely_cause()
    {
        var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        using var manager = new BoundedManager(2);
        var a = Use(manager, WithKey("AKIDA"), loggerFactory);
        var b = Use(manager, WithKey("AKIDB"), loggerFactory);
        Assert.Same(a, Use(manager, WithKey("AKIDA"), loggerFactory)); // A is now the most recently used

        var c = Use(manager, WithKey("AKIDC"), loggerFactory);

        Assert.Equal(2, manager.Count);
        Assert.True(IsDisposed(b));
        Assert.False(IsDisposed(a) || IsDisposed(c));
        var warning = Assert.Single(logs.Messages, m => m.Level == LogLevel.Warning);
        Assert.Equal(DbLoggerCategory.Infrastructure.Name, warning.Category);
        Assert.Contains("credentials", warning.Text);
        Assert.DoesNotContain("secret-", warning.Text);
        Assert.NotSame(b, Use(manager, WithKey("AKIDB"), loggerFactory)); // B comes back as a new pool
    }

    [Fact]
    public void An_evicted_data_source_still_rented_is_disposed_only_when_its_last_lease_ends()
    {
        using var manager = new BoundedManager(1);
        var held = manager.Rent(WithKey("AKIDA"), null);
        var second = manager.Rent(WithKey("AKIDA"), null);

        using (manager.Rent(WithKey("AKIDB"), null))
        {
            Assert.Equal(1, manager.Count);
            Assert.False(IsDisposed(held.DataSource));
            held.Dispose();
            held.Dispose(); // a lease ends once
            Assert.False(IsDisposed(held.DataSource));
            second.Dispose();
            Assert.True(IsDisposed(held.DataSource));
        }
    }

    [Fact]
    public void Contexts_with_credentials_built_per_context_share_one_service_provider_and_a_bounded_set_of_pools()
    {
        DsqlDataSourceManager? shared = null;
        for (var i = 0; i < DsqlDataSourceManager.DefaultMaxDataSources + 8; i++)
        {
            // A refreshing credentials object built per context: compared by instance, so a pool each.
            using var context = new DbContext(TestEndpoints.Options(o => o.Credentials(new AnonymousAWSCredentials())));
            _ = context.GetService<IRelationalConnection>();
            var manager = context.GetService<DsqlDataSourceManager>();
            shared ??= manager;

            Assert.Same(shared, manager);
        }

        Assert.InRange(shared!.Count, 1, DsqlDataSourceManager.DefaultMaxDataSources);
    }

    private static NpgsqlDataSource Use(DsqlDataSourceManager manager, DsqlConnectionOptions options, ILoggerFactory loggerFactory)
    {
        using var lease = manager.Rent(options, null, loggerFactory);
        return lease.DataSource;
    }

    private static bool IsDisposed(NpgsqlDataSource dataSource)
    {
        try
        {
            using var connection = dataSource.OpenConnection();
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    private sealed class BoundedManager(int max) : DsqlDataSourceManager([])
    {
        public override int MaxDataSources => max;
    }
}
