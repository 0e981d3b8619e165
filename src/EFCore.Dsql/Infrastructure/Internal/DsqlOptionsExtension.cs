using System.Runtime.CompilerServices;
using System.Text;
using Amazon.Runtime;
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

    /// <summary>Creates an extension with default settings.</summary>
    public DsqlOptionsExtension()
    {
    }

    /// <summary>Copies <paramref name="copyFrom"/>.</summary>
    /// <param name="copyFrom">The extension to copy.</param>
    protected DsqlOptionsExtension(DsqlOptionsExtension copyFrom)
    {
        ConnectionSource = copyFrom.ConnectionSource;
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
        => With(e => { e.ConnectionSource = connectionSource; e.UsesExternalDataSource = false; });

    /// <summary>Returns a copy marked as using an application-supplied data source.</summary>
    public virtual DsqlOptionsExtension WithExternalDataSource()
        => With(e => { e.ConnectionSource = null; e.UsesExternalDataSource = true; });

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

    /// <summary>The settings that shape IAM tokens: two contexts differing in any of them never share a data source.</summary>
    public virtual DsqlAuthSettings AuthSettings => new(Region, Profile, Credentials, TokenDuration);

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
            hash.Add(Extension.UsesExternalDataSource);
            hash.Add(Extension.Region);
            hash.Add(Extension.Profile);
            hash.Add(Extension.Credentials is null ? 0 : RuntimeHelpers.GetHashCode(Extension.Credentials));
            hash.Add(Extension.TokenDuration);
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
                && Extension.Region == otherInfo.Extension.Region
                && Extension.Profile == otherInfo.Extension.Profile
                && ReferenceEquals(Extension.Credentials, otherInfo.Extension.Credentials)
                && Extension.TokenDuration == otherInfo.Extension.TokenDuration
                && Extension.RetryOnFailure == otherInfo.Extension.RetryOnFailure
                && Extension.MaxRetryCount == otherInfo.Extension.MaxRetryCount
                && Extension.BaseRetryDelay == otherInfo.Extension.BaseRetryDelay
                && Extension.MaxRetryDelay == otherInfo.Extension.MaxRetryDelay
                && Extension.ErrorCodesToAdd.SequenceEqual(otherInfo.Extension.ErrorCodesToAdd)
                && Extension.IdentityCacheSize == otherInfo.Extension.IdentityCacheSize;

        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo)
        {
            debugInfo["Dsql:Region"] = (Extension.Region ?? "").GetHashCode().ToString();
            debugInfo["Dsql:Profile"] = (Extension.Profile ?? "").GetHashCode().ToString();
            debugInfo["Dsql:Credentials"] = (Extension.Credentials is null ? 0 : RuntimeHelpers.GetHashCode(Extension.Credentials)).ToString();
            debugInfo["Dsql:TokenDuration"] = Extension.TokenDuration.GetHashCode().ToString();
            debugInfo["Dsql:RetryOnFailure"] = Extension.RetryOnFailure.GetHashCode().ToString();
            debugInfo["Dsql:IdentityCacheSize"] = Extension.IdentityCacheSize.GetHashCode().ToString();
        }

        // Never includes credentials: only whether they were given.
        private string BuildLogFragment()
        {
            var builder = new StringBuilder("AuroraDsql ");
            if (Extension.Region is not null)
            {
                builder.Append("Region=").Append(Extension.Region).Append(' ');
            }

            if (Extension.Profile is not null)
            {
                builder.Append("Profile=").Append(Extension.Profile).Append(' ');
            }

            if (Extension.Credentials is not null)
            {
                builder.Append("Credentials=explicit ");
            }

            builder.Append(Extension.RetryOnFailure ? $"MaxRetryCount={Extension.MaxRetryCount} " : "RetryOnFailure=false ");
            builder.Append("IdentityCache=").Append(Extension.IdentityCacheSize).Append(' ');
            return builder.ToString();
        }
    }
}
