using System.Runtime.CompilerServices;
using System.Text;
using Amazon.Runtime;
using Dsql.Npgsql;
using Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;
using Microsoft.Extensions.DependencyInjection;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;

/// <summary>
/// The Aurora DSQL settings of a <see cref="DbContextOptions"/>; immutable (every <c>With…</c> returns a copy).
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public class DsqlOptionsExtension : IDbContextOptionsExtension
{
    /// <summary>The identity <c>CACHE</c> used when none is configured: 65536, the smallest value above 1 DSQL accepts.</summary>
    public const long DefaultIdentityCacheSize = 65_536;

    private DbContextOptionsExtensionInfo? _info;
    private DsqlConnectionOptions? _resolved;

    /// <summary>Creates an extension with default settings.</summary>
    public DsqlOptionsExtension()
    {
    }

    /// <summary>Copies <paramref name="copyFrom"/>.</summary>
    /// <param name="copyFrom">The extension to copy.</param>
    protected DsqlOptionsExtension(DsqlOptionsExtension copyFrom)
    {
        ConnectionSource = copyFrom.ConnectionSource;
        BaseConnectionOptions = copyFrom.BaseConnectionOptions;
        UsesExternalDataSource = copyFrom.UsesExternalDataSource;
        Region = copyFrom.Region;
        Profile = copyFrom.Profile;
        Credentials = copyFrom.Credentials;
        TokenDuration = copyFrom.TokenDuration;
        RetryOnFailure = copyFrom.RetryOnFailure;
        MaxRetryCount = copyFrom.MaxRetryCount;
        BaseRetryDelay = copyFrom.BaseRetryDelay;
        MaxRetryDelay = copyFrom.MaxRetryDelay;
        ErrorCodesToAdd = copyFrom.ErrorCodesToAdd;
        IdentityCacheSize = copyFrom.IdentityCacheSize;
    }

    /// <summary>What was passed to <c>UseAuroraDsql</c>: an endpoint, a cluster ID or a connection string.</summary>
    public virtual string? ConnectionSource { get; private set; }

    /// <summary>The connector options passed to <c>UseAuroraDsql</c>, when those were used instead of a string.</summary>
    public virtual DsqlConnectionOptions? BaseConnectionOptions { get; private set; }

    /// <summary>
    /// The connector options this context connects with: the string or options given to <c>UseAuroraDsql</c>, with the
    /// builder's region, profile, credentials and token lifetime applied; <see langword="null"/> with an application
    /// data source. Equal options share one data source; any difference (credentials by reference) gets its own.
    /// </summary>
    /// <exception cref="ArgumentException">The endpoint or region is invalid (the message says how to fix it).</exception>
    public virtual DsqlConnectionOptions? ConnectionOptions => _resolved ??= Resolve(ConnectionSource);

    /// <summary>Whether the application passed its own <c>NpgsqlDataSource</c> (which then owns authentication).</summary>
    public virtual bool UsesExternalDataSource { get; private set; }

    /// <summary>The AWS region; inferred from the endpoint when <see langword="null"/>.</summary>
    public virtual string? Region { get; private set; }

    /// <summary>The AWS shared-config profile to take credentials from.</summary>
    public virtual string? Profile { get; private set; }

    /// <summary>The AWS credentials to sign tokens with; the default AWS credential chain when <see langword="null"/>.</summary>
    public virtual AWSCredentials? Credentials { get; private set; }

    /// <summary>The IAM token lifetime; 900 seconds when <see langword="null"/>.</summary>
    public virtual TimeSpan? TokenDuration { get; private set; }

    /// <summary>Whether <see cref="DsqlRetryingExecutionStrategy"/> is the default strategy (on unless disabled).</summary>
    public virtual bool RetryOnFailure { get; private set; } = true;

    /// <summary>The retry limit.</summary>
    public virtual int MaxRetryCount { get; private set; } = DsqlRetryingExecutionStrategy.DefaultMaxRetryCount;

    /// <summary>The base delay of the backoff.</summary>
    public virtual TimeSpan BaseRetryDelay { get; private set; } = DsqlRetryingExecutionStrategy.DefaultBaseDelay;

    /// <summary>The cap on a single delay.</summary>
    public virtual TimeSpan MaxRetryDelay { get; private set; } = DsqlRetryingExecutionStrategy.DefaultMaxDelay;

    /// <summary>Extra SQLSTATEs to retry.</summary>
    public virtual IReadOnlyList<string> ErrorCodesToAdd { get; private set; } = [];

    /// <summary>The <c>CACHE</c> of identity columns that do not configure their own.</summary>
    public virtual long IdentityCacheSize { get; private set; } = DefaultIdentityCacheSize;

    /// <inheritdoc />
    public virtual DbContextOptionsExtensionInfo Info => _info ??= new ExtensionInfo(this);

    /// <summary>Returns a copy with a new connection source.</summary>
    /// <param name="connectionSource">An endpoint, a cluster ID or a connection string.</param>
    public virtual DsqlOptionsExtension WithConnectionSource(string connectionSource)
        => With(e => { e.ConnectionSource = connectionSource; e.BaseConnectionOptions = null; e.UsesExternalDataSource = false; });

    /// <summary>Returns a copy connecting with connector options.</summary>
    /// <param name="options">The options.</param>
    public virtual DsqlOptionsExtension WithConnectionOptions(DsqlConnectionOptions options)
        => With(e => { e.ConnectionSource = null; e.BaseConnectionOptions = options; e.UsesExternalDataSource = false; });

    /// <summary>Returns a copy marked as using an application-supplied data source.</summary>
    public virtual DsqlOptionsExtension WithExternalDataSource()
        => With(e => { e.ConnectionSource = null; e.BaseConnectionOptions = null; e.UsesExternalDataSource = true; });

    /// <summary>
    /// Resolves connector options for <paramref name="connectionSource"/> (or the configured options when it is
    /// <see langword="null"/>) with this extension's overrides applied. Used for the configured source and for a
    /// connection string set later (<c>Database.SetConnectionString</c>, <c>dotnet ef … --connection</c>).
    /// </summary>
    /// <param name="connectionSource">An endpoint, cluster ID or connection string; <see langword="null"/> for the configured one.</param>
    public virtual DsqlConnectionOptions? Resolve(string? connectionSource)
    {
        var options = connectionSource is not null ? DsqlConnectionOptions.Parse(connectionSource, Region) : BaseConnectionOptions;
        if (options is null)
        {
            return null;
        }

        if (connectionSource is null && Region is not null)
        {
            options = options.WithRegion(Region);
        }

        if (Profile is not null)
        {
            options = options.WithProfile(Profile);
        }

        if (Credentials is not null)
        {
            options = options.WithCredentials(Credentials);
        }

        if (TokenDuration is { } duration)
        {
            options = options.WithTokenDuration(duration);
        }

        return options;
    }

    /// <summary>Returns a copy with a region.</summary>
    /// <param name="region">The AWS region.</param>
    public virtual DsqlOptionsExtension WithRegion(string? region) => With(e => e.Region = region);

    /// <summary>Returns a copy with a profile.</summary>
    /// <param name="profile">The profile name.</param>
    public virtual DsqlOptionsExtension WithProfile(string? profile) => With(e => e.Profile = profile);

    /// <summary>Returns a copy with credentials.</summary>
    /// <param name="credentials">The credentials.</param>
    public virtual DsqlOptionsExtension WithCredentials(AWSCredentials? credentials) => With(e => e.Credentials = credentials);

    /// <summary>Returns a copy with a token lifetime.</summary>
    /// <param name="duration">The lifetime.</param>
    public virtual DsqlOptionsExtension WithTokenDuration(TimeSpan? duration) => With(e => e.TokenDuration = duration);

    /// <summary>Returns a copy with retry settings.</summary>
    /// <param name="maxRetryCount">The retry limit.</param>
    /// <param name="baseDelay">The base delay.</param>
    /// <param name="maxDelay">The cap on a single delay.</param>
    /// <param name="errorCodesToAdd">Extra SQLSTATEs to retry.</param>
    public virtual DsqlOptionsExtension WithRetryOnFailure(int maxRetryCount, TimeSpan baseDelay, TimeSpan maxDelay, IEnumerable<string>? errorCodesToAdd)
        => With(e =>
        {
            e.RetryOnFailure = true;
            e.MaxRetryCount = maxRetryCount;
            e.BaseRetryDelay = baseDelay;
            e.MaxRetryDelay = maxDelay;
            e.ErrorCodesToAdd = errorCodesToAdd?.ToArray() ?? [];
        });

    /// <summary>Returns a copy with retrying switched off.</summary>
    public virtual DsqlOptionsExtension WithoutRetryOnFailure() => With(e => e.RetryOnFailure = false);

    /// <summary>Returns a copy with an identity cache size.</summary>
    /// <param name="cacheSize">1 or at least 65536.</param>
    public virtual DsqlOptionsExtension WithIdentityCacheSize(long cacheSize) => With(e => e.IdentityCacheSize = cacheSize);

    /// <summary>Creates a copy; override in a derived extension.</summary>
    protected virtual DsqlOptionsExtension Clone() => new(this);

    /// <inheritdoc />
    public virtual void ApplyServices(IServiceCollection services) => services.AddEntityFrameworkDsql();

    /// <inheritdoc />
    public virtual void Validate(IDbContextOptions options)
    {
        if (Profile is not null && Credentials is not null)
        {
            throw new InvalidOperationException(DsqlStrings.ProfileAndCredentials);
        }

        if (UsesExternalDataSource && (Region ?? Profile ?? (object?)Credentials ?? TokenDuration) is not null)
        {
            throw new InvalidOperationException(DsqlStrings.DataSourceAndAuthSettings);
        }

        if (TokenDuration is { } duration && (duration < TimeSpan.FromSeconds(1) || duration > TimeSpan.FromDays(7)))
        {
            throw new InvalidOperationException(DsqlStrings.InvalidTokenDuration(duration));
        }

        if (IdentityCacheSize != 1 && IdentityCacheSize < DefaultIdentityCacheSize)
        {
            throw new InvalidOperationException(DsqlStrings.InvalidIdentityCache(IdentityCacheSize));
        }

        if (options.FindExtension<NpgsqlOptionsExtension>() is { } npgsql)
        {
            if (npgsql.EnumDefinitions.Count > 0)
            {
                throw new InvalidOperationException(DsqlStrings.EnumMappingNotSupported);
            }

            if (npgsql.UserRangeDefinitions.Count > 0)
            {
                throw new InvalidOperationException(DsqlStrings.RangeMappingNotSupported);
            }
        }
    }

    private DsqlOptionsExtension With(Action<DsqlOptionsExtension> change)
    {
        var clone = Clone();
        clone._resolved = null;
        change(clone);
        return clone;
    }

    private sealed class ExtensionInfo(DsqlOptionsExtension extension) : DbContextOptionsExtensionInfo(extension)
    {
        private string? _logFragment;

        private new DsqlOptionsExtension Extension => (DsqlOptionsExtension)base.Extension;

        public override bool IsDatabaseProvider => false;

        public override string LogFragment => _logFragment ??= BuildLogFragment();

        // Everything that changes a singleton service or the model: auth settings shape the data sources, the identity
        // cache shapes the model, and retry settings are cheap to include. Credentials compare by reference.
        public override int GetServiceProviderHashCode()
        {
            var hash = new HashCode();
            var auth = Extension.ConnectionOptions;
            hash.Add(Extension.UsesExternalDataSource);
            hash.Add(auth?.Region);
            hash.Add(auth?.Profile);
            hash.Add(DsqlCredentialIdentity.Of(auth?.Credentials));
            hash.Add(auth?.TokenDuration);
            hash.Add(auth?.TimeProvider is null ? 0 : RuntimeHelpers.GetHashCode(auth.TimeProvider));
            hash.Add(Extension.RetryOnFailure);
            hash.Add(Extension.MaxRetryCount);
            hash.Add(Extension.BaseRetryDelay);
            hash.Add(Extension.MaxRetryDelay);
            foreach (var code in Extension.ErrorCodesToAdd)
            {
                hash.Add(code);
            }

            hash.Add(Extension.IdentityCacheSize);
            return hash.ToHashCode();
        }

        public override bool ShouldUseSameServiceProvider(DbContextOptionsExtensionInfo other)
            => other is ExtensionInfo otherInfo
                && Extension.UsesExternalDataSource == otherInfo.Extension.UsesExternalDataSource
                && SameAuth(Extension.ConnectionOptions, otherInfo.Extension.ConnectionOptions)
                && Extension.RetryOnFailure == otherInfo.Extension.RetryOnFailure
                && Extension.MaxRetryCount == otherInfo.Extension.MaxRetryCount
                && Extension.BaseRetryDelay == otherInfo.Extension.BaseRetryDelay
                && Extension.MaxRetryDelay == otherInfo.Extension.MaxRetryDelay
                && Extension.ErrorCodesToAdd.SequenceEqual(otherInfo.Extension.ErrorCodesToAdd)
                && Extension.IdentityCacheSize == otherInfo.Extension.IdentityCacheSize;

        // The settings that shape tokens; the endpoint itself is not needed here (the data-source manager keys by all options).
        private static bool SameAuth(DsqlConnectionOptions? a, DsqlConnectionOptions? b)
            => a?.Region == b?.Region
                && a?.Profile == b?.Profile
                && Equals(DsqlCredentialIdentity.Of(a?.Credentials), DsqlCredentialIdentity.Of(b?.Credentials))
                && a?.TokenDuration == b?.TokenDuration
                && ReferenceEquals(a?.TimeProvider, b?.TimeProvider);

        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo)
        {
            var auth = Extension.ConnectionOptions;
            debugInfo["Dsql:Region"] = (auth?.Region ?? "").GetHashCode().ToString();
            debugInfo["Dsql:Profile"] = (auth?.Profile ?? "").GetHashCode().ToString();
            debugInfo["Dsql:Credentials"] = (DsqlCredentialIdentity.Of(auth?.Credentials)?.GetHashCode() ?? 0).ToString();
            debugInfo["Dsql:TokenDuration"] = (auth?.TokenDuration).GetHashCode().ToString();
            debugInfo["Dsql:RetryOnFailure"] = Extension.RetryOnFailure.GetHashCode().ToString();
            debugInfo["Dsql:IdentityCacheSize"] = Extension.IdentityCacheSize.GetHashCode().ToString();
        }

        // Never includes credentials: only whether they were given.
        private string BuildLogFragment()
        {
            var builder = new StringBuilder("AuroraDsql ");
            var auth = Extension.ConnectionOptions;
            if (auth is not null)
            {
                builder.Append("Region=").Append(auth.Region).Append(' ');
                if (auth.Profile is not null)
                {
                    builder.Append("Profile=").Append(auth.Profile).Append(' ');
                }

                if (auth.Credentials is not null)
                {
                    builder.Append("Credentials=explicit ");
                }
            }
            else
            {
                builder.Append("DataSource=application ");
            }

            builder.Append(Extension.RetryOnFailure ? $"MaxRetryCount={Extension.MaxRetryCount} " : "RetryOnFailure=false ");
            builder.Append("IdentityCache=").Append(Extension.IdentityCacheSize).Append(' ');
            return builder.ToString();
        }
    }
}
