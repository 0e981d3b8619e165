using EFCore.Dsql.FunctionalTests.EFCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Migrations;

namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>
/// A server EF functional tests reach through <c>UseAuroraDsql</c> with a connection string: plain PostgreSQL
/// (<see cref="PostgresTarget"/>) or Dsql.Local (<see cref="DsqlLocalTarget"/>). Scenario classes take one and run the
/// same tests against each.
/// </summary>
public abstract class EfTarget
{
    /// <summary>What the target is, for summary lines (server and authentication).</summary>
    public abstract string Description { get; }

    /// <summary>A short name for file names.</summary>
    public abstract string Key { get; }

    /// <summary>The region tokens are signed for.</summary>
    public abstract string Region { get; }

    /// <summary>The AWS credentials tokens are signed with.</summary>
    public abstract AWSCredentials Credentials { get; }

    /// <summary>The longest retry delay of the tests' quick retry settings.</summary>
    protected virtual TimeSpan TestMaxRetryDelay => TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// A connection string. The application name keeps test classes apart: equal options share one data source
    /// process-wide (by design).
    /// </summary>
    public abstract string ConnectionString(int maxPoolSize, string applicationName);

    /// <summary>
    /// <c>UseAuroraDsql</c> with the target's region and credentials and quick retry settings (20 retries, 5 ms up to
    /// <see cref="TestMaxRetryDelay"/>; <c>o.EnableRetryOnFailure()</c> in <paramref name="dsql"/> restores the shipped
    /// defaults), then <paramref name="dsql"/>, then <see cref="TestWarnings.Configure"/>.
    /// </summary>
    public DbContextOptionsBuilder Configure(
        DbContextOptionsBuilder builder, Action<DsqlDbContextOptionsBuilder>? dsql = null, int maxPoolSize = 100, string applicationName = "efcore-dsql-tests")
        => Adapt(builder.UseAuroraDsql(ConnectionString(maxPoolSize, applicationName), o =>
            {
                o.Region(Region).Credentials(Credentials).EnableRetryOnFailure(20, TimeSpan.FromMilliseconds(5), TestMaxRetryDelay, null);
                dsql?.Invoke(o);
            }))
            .ConfigureWarnings(TestWarnings.Configure);

    /// <summary>Options for <typeparamref name="TContext"/>, configured by <see cref="Configure"/>.</summary>
    public DbContextOptions<TContext> Options<TContext>(Action<DsqlDbContextOptionsBuilder>? dsql = null, string applicationName = "efcore-dsql-tests")
        where TContext : DbContext
        => (DbContextOptions<TContext>)Configure(new DbContextOptionsBuilder<TContext>(), dsql, applicationName: applicationName).Options;

    /// <summary>Drops the tables of <paramref name="context"/>'s model and creates them anew, then disposes the context.</summary>
    public static async Task RecreateTablesAsync(DbContext context)
    {
        await using (context)
        {
            await context.Database.EnsureDeletedAsync();
            Assert.True(await context.Database.EnsureCreatedAsync());
        }
    }

    /// <summary>What the target adds to every configuration.</summary>
    protected virtual DbContextOptionsBuilder Adapt(DbContextOptionsBuilder builder) => builder;

    /// <summary>One value, read as a superuser straight from the server (inspection that bypasses DSQL's rules).</summary>
    public Task<T> QueryAsync<T>(string sql) => BackendSql.ScalarAsync<T>(BackendConnectionString, sql);

    /// <summary>A superuser connection string straight to the PostgreSQL server.</summary>
    protected abstract string BackendConnectionString { get; }
}

/// <summary>A plain PostgreSQL server reached through <c>UseAuroraDsql</c> (trusted loopback TCP, no TLS).</summary>
public sealed class PostgresTarget(PostgresFixture fixture) : EfTarget
{
    /// <summary>Credentials the trusting server never checks.</summary>
    public static readonly AWSCredentials TestCredentials = new BasicAWSCredentials("AKIDFUNCTIONALTEST", "functional-test-secret");

    /// <inheritdoc />
    public override string Description => "PostgreSQL (trusted loopback TCP, no TLS)";

    /// <inheritdoc />
    public override string Key => "postgres";

    /// <inheritdoc />
    public override string Region => "us-east-1";

    /// <inheritdoc />
    public override AWSCredentials Credentials => TestCredentials;

    /// <inheritdoc />
    protected override string BackendConnectionString => fixture.Instance.ConnectionString;

    /// <inheritdoc />
    public override string ConnectionString(int maxPoolSize, string applicationName)
        => new NpgsqlConnectionStringBuilder(fixture.TcpConnectionString)
        {
            SslMode = SslMode.Disable, MaxPoolSize = maxPoolSize, ApplicationName = applicationName,
        }.ConnectionString;

    /// <summary>Plain PostgreSQL does not understand DSQL's CREATE INDEX ASYNC: the test schema is created with Npgsql's generator.</summary>
    protected override DbContextOptionsBuilder Adapt(DbContextOptionsBuilder builder)
        => builder.ReplaceService<IMigrationsSqlGenerator, NpgsqlMigrationsSqlGenerator>();
}

/// <summary>The shared Dsql.Local emulator, with IAM token checks and TLS on, as DSQL.</summary>
public sealed class DsqlLocalTarget(DsqlLocalFixture fixture) : EfTarget
{
    private AWSCredentials? _credentials;

    /// <inheritdoc />
    public override string Description => "Dsql.Local (IAM, TLS)";

    /// <inheritdoc />
    public override string Key => "dsql-local";

    /// <inheritdoc />
    public override string Region => fixture.Region;

    /// <inheritdoc />
    public override AWSCredentials Credentials
        => _credentials ??= new BasicAWSCredentials(fixture.Credential.AccessKeyId, fixture.Credential.SecretAccessKey);

    /// <inheritdoc />
    protected override TimeSpan TestMaxRetryDelay => TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    protected override string BackendConnectionString => fixture.BackendConnectionString;

    /// <inheritdoc />
    public override string ConnectionString(int maxPoolSize, string applicationName)
        => $"Host=localhost;Port={fixture.Port};SSL Mode={(fixture.Server.TlsEnabled ? "Require" : "Disable")};"
            + $"Maximum Pool Size={maxPoolSize};Application Name={applicationName}";
}
