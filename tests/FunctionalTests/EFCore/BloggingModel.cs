#pragma warning disable EF1001 // tests reach into EFCore.Dsql internals on purpose
using Amazon.Runtime;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Migrations;
using Npgsql;

namespace EFCore.Dsql.FunctionalTests.EFCore;

public sealed class Blog
{
    public long Id { get; set; }
    public string Name { get; set; } = "";
    public List<Post> Posts { get; set; } = [];
}

public sealed class Post
{
    public Guid Id { get; set; }
    public string Title { get; set; } = "";
    public int Likes { get; set; }
    public long BlogId { get; set; }
    public Blog? Blog { get; set; }
}

public sealed class Counter
{
    public long Id { get; set; }
    public long Value { get; set; }
}

/// <summary>
/// Blogs, posts and counters. Each test class uses its own subclass (and table prefix): subclasses get their own
/// cached model, and their tables never collide in the one shared database.
/// </summary>
public abstract class BloggingContext(DbContextOptions options, string tablePrefix) : DbContext(options)
{
    public DbSet<Blog> Blogs => Set<Blog>();
    public DbSet<Post> Posts => Set<Post>();
    public DbSet<Counter> Counters => Set<Counter>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Blog>().ToTable(tablePrefix + "blogs");
        modelBuilder.Entity<Post>().ToTable(tablePrefix + "posts");
        modelBuilder.Entity<Counter>(b =>
        {
            b.ToTable(tablePrefix + "counters");
            b.Property(c => c.Id).ValueGeneratedNever();
        });
    }
}

/// <summary>
/// The test assembly deliberately builds many differently configured contexts (retry settings, servers, credentials),
/// and EF counts internal service providers process-wide; log its "many service providers" warning instead of throwing.
/// </summary>
public static class TestWarnings
{
    public static void Configure(WarningsConfigurationBuilder warnings) => warnings.Log(CoreEventId.ManyServiceProvidersCreatedWarning);
}

/// <summary>Where functional tests connect: a plain PostgreSQL server reached through UseAuroraDsql (trust auth).</summary>
public sealed class PostgresTarget(Infrastructure.PostgresFixture fixture)
{
    public static readonly AWSCredentials Credentials = new BasicAWSCredentials("AKIDFUNCTIONALTEST", "functional-test-secret");

    // The application name keeps test classes apart: equal options share one data source process-wide (by design).
    public string ConnectionString(int maxPoolSize = 100, string applicationName = "efcore-dsql-tests")
        => new NpgsqlConnectionStringBuilder(fixture.TcpConnectionString)
        {
            SslMode = SslMode.Disable, MaxPoolSize = maxPoolSize, ApplicationName = applicationName,
        }.ConnectionString;

    public DbContextOptionsBuilder Configure(
        DbContextOptionsBuilder builder, Action<DsqlDbContextOptionsBuilder>? dsql = null, int maxPoolSize = 100, string applicationName = "efcore-dsql-tests")
        => builder.UseAuroraDsql(ConnectionString(maxPoolSize, applicationName), o =>
        {
            o.Region("us-east-1").Credentials(Credentials).EnableRetryOnFailure(20, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(200), null);
            dsql?.Invoke(o);
        })
        // Plain PostgreSQL does not understand DSQL's CREATE INDEX ASYNC: create the test schema with Npgsql's generator.
        .ReplaceService<IMigrationsSqlGenerator, NpgsqlMigrationsSqlGenerator>()
        .ConfigureWarnings(TestWarnings.Configure);

    public async Task<T> QueryAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(fixture.Instance.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
