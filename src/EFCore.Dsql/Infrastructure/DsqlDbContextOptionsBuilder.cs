using Amazon.Extensions.NETCore.Setup;
using Amazon.Runtime;
using Dsql.Npgsql;
using Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure;

// ReSharper disable once CheckNamespace
namespace Microsoft.EntityFrameworkCore.Infrastructure;

/// <summary>
/// Aurora DSQL settings for a <see cref="DbContext"/>, passed to the <c>dsqlOptions</c> action of
/// <c>UseAuroraDsql</c>. Every method returns the builder, for chaining.
/// </summary>
public class DsqlDbContextOptionsBuilder
{
    /// <summary>Creates a builder over <paramref name="optionsBuilder"/>.</summary>
    /// <param name="optionsBuilder">The context's options builder.</param>
    public DsqlDbContextOptionsBuilder(DbContextOptionsBuilder optionsBuilder)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        OptionsBuilder = optionsBuilder;
    }

    /// <summary>The context's options builder.</summary>
    protected virtual DbContextOptionsBuilder OptionsBuilder { get; }

    /// <summary>The AWS region of the cluster, e.g. <c>us-east-1</c>. Needed with a cluster ID or an endpoint whose name does not carry it.</summary>
    /// <param name="region">The region's system name.</param>
    public virtual DsqlDbContextOptionsBuilder Region(string region)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(region);
        return WithOption(e => e.WithRegion(region.Trim()));
    }

    /// <summary>Takes AWS credentials from a named profile of the shared config and credentials files.</summary>
    /// <param name="profile">The profile name.</param>
    public virtual DsqlDbContextOptionsBuilder Profile(string profile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(profile);
        return WithOption(e => e.WithProfile(profile));
    }

    /// <summary>
    /// Signs IAM tokens with these credentials instead of the default AWS credential chain. Contexts configured with
    /// different credential objects never share a connection pool.
    /// </summary>
    /// <param name="credentials">The credentials (refreshing credentials such as role credentials are fine).</param>
    public virtual DsqlDbContextOptionsBuilder Credentials(AWSCredentials credentials)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        return WithOption(e => e.WithCredentials(credentials));
    }

    /// <summary>
    /// Takes what the connection string leaves open from the AWS SDK's options (<c>builder.Configuration.GetAWSOptions()</c>):
    /// the region of a cluster ID (an endpoint's own region always wins), and the credentials, else the profile. Without
    /// this call, an <see cref="AWSOptions"/> registered in the application's services
    /// (<c>services.AddDefaultAWSOptions(...)</c>) gives the credentials, else the profile; it gives the region only to a
    /// <c>Name=ConnectionStrings:…</c> connection string, which is read when the first connection is made. Any other
    /// endpoint is checked when <c>UseAuroraDsql</c> runs, before the application's services exist, so a host that names no
    /// region (a CNAME, an IP, <c>localhost</c>) needs <c>Region=</c> in the string, <see cref="Region"/>, this method, or
    /// <c>AWS_REGION</c>. <see cref="Region"/>, <see cref="Profile"/> and <see cref="Credentials"/> win over it.
    /// </summary>
    /// <param name="awsOptions">The AWS SDK's options.</param>
    public virtual DsqlDbContextOptionsBuilder AwsOptions(AWSOptions awsOptions)
    {
        ArgumentNullException.ThrowIfNull(awsOptions);
        return WithOption(e => e.WithAwsOptions(awsOptions));
    }

    /// <summary>The lifetime of each IAM token (1 second to 7 days; default 15 minutes). A token only has to be valid when a connection opens.</summary>
    /// <param name="duration">The lifetime.</param>
    public virtual DsqlDbContextOptionsBuilder TokenDuration(TimeSpan duration)
        => WithOption(e => e.WithTokenDuration(duration));

    /// <summary>Retries optimistic-concurrency conflicts and transient failures with the default settings (on by default).</summary>
    public virtual DsqlDbContextOptionsBuilder EnableRetryOnFailure()
        => EnableRetryOnFailure(DsqlRetryingExecutionStrategy.DefaultMaxRetryCount);

    /// <summary>
    /// Retries optimistic-concurrency conflicts and transient failures at most <paramref name="maxRetryCount"/> times
    /// (the time budget and a commit marker set before are kept).
    /// </summary>
    /// <param name="maxRetryCount">The retry limit.</param>
    public virtual DsqlDbContextOptionsBuilder EnableRetryOnFailure(int maxRetryCount)
        => EnableRetryOnFailure(maxRetryCount, DsqlRetryingExecutionStrategy.DefaultBaseDelay, DsqlRetryingExecutionStrategy.DefaultMaxDelay, null);

    /// <summary>
    /// Retries optimistic-concurrency conflicts and transient failures with explicit limits and delays (the time budget
    /// and a commit marker set before are kept; set every setting at once with
    /// <see cref="EnableRetryOnFailure(DsqlRetryOptions, ICollection{string}?)"/>).
    /// </summary>
    /// <param name="maxRetryCount">The retry limit.</param>
    /// <param name="baseDelay">The backoff base: retry <c>n</c> waits a random time between 0 and <c>min(maxDelay, baseDelay × 2^n)</c>.</param>
    /// <param name="maxDelay">The cap on a single delay.</param>
    /// <param name="errorCodesToAdd">More SQLSTATEs to retry.</param>
    public virtual DsqlDbContextOptionsBuilder EnableRetryOnFailure(
        int maxRetryCount, TimeSpan baseDelay, TimeSpan maxDelay, ICollection<string>? errorCodesToAdd)
        => WithRetryOptions(
            current => current with { MaxRetryCount = maxRetryCount, BaseDelay = baseDelay, MaxDelay = maxDelay },
            errorCodesToAdd?.ToArray() ?? []);

    /// <summary>
    /// Retries optimistic-concurrency conflicts and transient failures with every setting given at once, the same
    /// <see cref="DsqlRetryOptions"/> the connector's <see cref="DsqlRetry"/> takes: the time budget
    /// (<see cref="DsqlRetryOptions.MaxRetryDuration"/>, default 60 s), the retry count (default 200), the backoff and
    /// the commit marker. Validated here, once.
    /// </summary>
    /// <param name="options">The settings; they replace every earlier retry setting.</param>
    /// <param name="errorCodesToAdd">More SQLSTATEs to retry.</param>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range (the message names it).</exception>
    public virtual DsqlDbContextOptionsBuilder EnableRetryOnFailure(DsqlRetryOptions options, ICollection<string>? errorCodesToAdd = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return WithRetryOptions(_ => options, errorCodesToAdd?.ToArray() ?? []);
    }

    /// <summary>
    /// Verifies a unit of work whose <c>COMMIT</c> answer was lost (the connection failed while it was in flight)
    /// instead of throwing <see cref="DsqlCommitOutcomeUnknownException"/>: every transaction that writes inserts a
    /// commit marker just before its <c>COMMIT</c>, looked up on a new connection after such a failure; found, the
    /// commit succeeded; not found, the unit is retried. The table is created on first use unless
    /// <see cref="DsqlCommitMarkerOptions.CreateTable"/> is <see langword="false"/>. Applies to every transaction EF
    /// begins (a one-statement <c>SaveChanges</c> run by the strategy gets one too); autocommit
    /// <c>ExecuteUpdate</c>/<c>ExecuteDelete</c>/<c>ExecuteSql</c> outside a transaction still surface the exception.
    /// </summary>
    /// <param name="marker">The marker table and retention; <see cref="DsqlCommitMarkerOptions.Default"/> when <see langword="null"/>.</param>
    public virtual DsqlDbContextOptionsBuilder VerifyCommitsWithMarker(DsqlCommitMarkerOptions? marker = null)
        => WithOption(e => e.WithRetry(e.Retry with
        {
            Options = (e.Retry.Options with { CommitMarker = marker ?? DsqlCommitMarkerOptions.Default }).Validated(),
        }));

    private DsqlDbContextOptionsBuilder WithRetryOptions(Func<DsqlRetryOptions, DsqlRetryOptions> change, IReadOnlyList<string> errorCodesToAdd)
        => WithOption(e => e.WithRetry(new DsqlRetrySettings { Options = change(e.Retry.Options).Validated(), ErrorCodesToAdd = errorCodesToAdd }));

    /// <summary>
    /// Turns automatic retries off. Operations then fail on the first OCC conflict; retry them yourself.
    /// </summary>
    public virtual DsqlDbContextOptionsBuilder DisableRetryOnFailure() => WithOption(e => e.WithRetry(e.Retry with { Enabled = false }));

    /// <summary>
    /// The <c>CACHE</c> of identity columns that do not set their own (default 65536). DSQL accepts 1 (strictly
    /// increasing values, slower inserts) or at least 65536 (fast, values have gaps).
    /// </summary>
    /// <param name="cacheSize">1 or at least 65536.</param>
    public virtual DsqlDbContextOptionsBuilder IdentityCacheSize(long cacheSize)
        => WithOption(e => e.WithIdentityCacheSize(cacheSize));

    /// <summary>
    /// Whether migrations wait (<c>CALL sys.wait_for_job</c>) for each asynchronous index build and constraint
    /// validation before any statement that could depend on it and before the migration's history row, so no later
    /// migration finds an index that is not valid yet. Builds started by consecutive steps that only create (tables,
    /// schemas, sequences, indexes) run side by side and are waited for together, in one round trip. On by default; turn
    /// it off only when something else waits for the jobs.
    /// </summary>
    /// <param name="wait">Whether to wait.</param>
    public virtual DsqlDbContextOptionsBuilder WaitForMigrationJobs(bool wait = true)
        => WithOption(e => e.WithMigrations(e.Migrations with { WaitForJobs = wait }));

    /// <summary>
    /// How long the migration lock's lease lasts without renewal (default 10 minutes). The holder renews it in the
    /// background every third of the lease (also during long index builds) and stops before its next statement if another
    /// migrator took it over; when a migrating process dies, another one takes over once the lease has expired and resumes
    /// its work. Keep it longer than any stall of the process or network you expect (see docs/efcore.md, fencing).
    /// </summary>
    /// <param name="lease">At least one second.</param>
    public virtual DsqlDbContextOptionsBuilder MigrationLockLease(TimeSpan lease)
        => WithOption(e => e.WithMigrations(e.Migrations with { LockLease = lease }));

    /// <summary>Configures the underlying Npgsql provider (command timeout, batching, data-source tweaks…).</summary>
    /// <param name="configure">Receives Npgsql's options builder.</param>
    public virtual DsqlDbContextOptionsBuilder Npgsql(Action<NpgsqlDbContextOptionsBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        configure(new NpgsqlDbContextOptionsBuilder(OptionsBuilder));
        return this;
    }

    /// <summary>Applies a change to the DSQL options extension.</summary>
    /// <param name="change">The change.</param>
    protected virtual DsqlDbContextOptionsBuilder WithOption(Func<DsqlOptionsExtension, DsqlOptionsExtension> change)
    {
        var extension = OptionsBuilder.Options.FindExtension<DsqlOptionsExtension>() ?? new DsqlOptionsExtension();
        ((IDbContextOptionsBuilderInfrastructure)OptionsBuilder).AddOrUpdateExtension(change(extension));
        return this;
    }
}
