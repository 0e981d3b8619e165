using System.Text;
using Amazon.Extensions.NETCore.Setup;
using Amazon.Runtime;
using Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;
using Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;

/// <summary>
/// The Aurora DSQL settings of a <see cref="DbContextOptions"/>; immutable (every <c>With…</c> returns a copy). The
/// settings are kept in groups (<see cref="Auth"/>, <see cref="Retry"/>, <see cref="Migrations"/>), each an immutable
/// record that checks its values, so copying, comparing and describing the extension cannot miss a setting.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public class DsqlOptionsExtension : IDbContextOptionsExtension
{
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
        Auth = copyFrom.Auth;
        Retry = copyFrom.Retry;
        IdentityCacheSize = copyFrom.IdentityCacheSize;
        Migrations = copyFrom.Migrations;
    }

    /// <summary>What was passed to <c>UseAuroraDsql</c>: an endpoint, a cluster ID or a connection string.</summary>
    public virtual string? ConnectionSource { get; private set; }

    /// <summary>The connector options passed to <c>UseAuroraDsql</c>, when those were used instead of a string.</summary>
    public virtual DsqlConnectionOptions? BaseConnectionOptions { get; private set; }

    /// <summary>Whether the application passed its own <c>NpgsqlDataSource</c> (which then owns authentication).</summary>
    public virtual bool UsesExternalDataSource { get; private set; }

    /// <summary>
    /// The connector options this context connects with: the string or options given to <c>UseAuroraDsql</c>, with the
    /// <see cref="Auth"/> overrides applied; <see langword="null"/> with an application data source. Equal options share
    /// one data source; any difference (credentials by reference) gets its own.
    /// </summary>
    /// <exception cref="ArgumentException">The endpoint or region is invalid (the message says how to fix it).</exception>
    public virtual DsqlConnectionOptions? ConnectionOptions => _resolved ??= Resolve(ConnectionSource);

    /// <summary>Region, profile, credentials and token lifetime given to the options builder.</summary>
    public virtual DsqlAuthSettings Auth { get; private set; } = DsqlAuthSettings.None;

    /// <summary>Whether and how operations are retried.</summary>
    public virtual DsqlRetrySettings Retry { get; private set; } = DsqlRetrySettings.Default;

    /// <summary>The <c>CACHE</c> of identity columns that do not configure their own.</summary>
    public virtual long IdentityCacheSize { get; private set; } = DsqlLimits.DefaultIdentityCacheSize;

    /// <summary>How migrations wait for jobs and hold their lock.</summary>
    public virtual DsqlMigrationsOptions Migrations { get; private set; } = DsqlMigrationsOptions.Default;

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
    /// <remarks>
    /// A named connection string (<c>Name=ConnectionStrings:Shop</c>) resolves to <see langword="null"/> here: it is read
    /// from the application's configuration when a connection is made (<see cref="ResolveForConnection"/>).
    /// </remarks>
    public virtual DsqlConnectionOptions? Resolve(string? connectionSource)
        => connectionSource is not null
            ? IsNamedConnectionString(connectionSource) ? null : Parse(connectionSource, Auth.AwsOptions)
            : BaseConnectionOptions is { } options ? Auth.ApplyTo(WithAws(options, Auth.AwsOptions), includeRegion: true) : null;

    /// <summary>
    /// Resolves the options a connection is made with: a named connection string read through EF's
    /// <see cref="Microsoft.EntityFrameworkCore.Storage.Internal.INamedConnectionStringResolver"/> (the application's configuration, as for <c>UseNpgsql</c>),
    /// and an <see cref="AWSOptions"/> from the application's services when none was given to the options builder.
    /// </summary>
    /// <param name="connectionSource">A connection string set later, or <see langword="null"/> for the configured source.</param>
    /// <param name="namedConnectionStrings">EF's resolver of <c>Name=…</c> connection strings.</param>
    /// <param name="applicationServices">The application's service provider, if EF has one.</param>
    /// <returns>The options, or <see langword="null"/> with an application data source.</returns>
    /// <exception cref="InvalidOperationException">The named connection string is not in the configuration (EF's message says which).</exception>
    /// <exception cref="ArgumentException">The endpoint or region is invalid (the message says how to fix it).</exception>
    public virtual DsqlConnectionOptions? ResolveForConnection(
        string? connectionSource, Microsoft.EntityFrameworkCore.Storage.Internal.INamedConnectionStringResolver namedConnectionStrings, IServiceProvider? applicationServices)
    {
        ArgumentNullException.ThrowIfNull(namedConnectionStrings);
        if (UsesExternalDataSource)
        {
            return null;
        }

        var aws = Auth.AwsOptions ?? applicationServices?.GetService<AWSOptions>();
        var source = connectionSource ?? ConnectionSource;
        if (source is not null)
        {
            return Parse(namedConnectionStrings.ResolveConnectionString(source), aws);
        }

        return BaseConnectionOptions is { } options ? Auth.ApplyTo(WithAws(options, aws), includeRegion: true) : null;
    }

    /// <summary>Whether a connection string names one in the configuration (<c>Name=ConnectionStrings:Shop</c>), as EF Core reads it.</summary>
    /// <param name="connectionString">The connection string.</param>
    public static bool IsNamedConnectionString(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var trimmed = connectionString.Trim();
        return trimmed.StartsWith("name=", StringComparison.OrdinalIgnoreCase) && !trimmed.Contains(';', StringComparison.Ordinal);
    }

    // The builder's region is explicit (it must agree with an endpoint's); an AWSOptions region only fills in.
    private DsqlConnectionOptions Parse(string connectionSource, AWSOptions? aws)
    {
        var options = Auth.Region is not null
            ? DsqlConnectionOptions.Parse(connectionSource, Auth.Region)
            : aws is not null ? aws.ParseDsqlConnectionOptions(connectionSource) : DsqlConnectionOptions.Parse(connectionSource);
        return Auth.ApplyTo(Auth.Region is not null && aws is not null ? WithAws(options, aws) : options, includeRegion: false);
    }

    private static DsqlConnectionOptions WithAws(DsqlConnectionOptions options, AWSOptions? aws)
        => aws is null || options.Credentials is not null || options.Profile is not null ? options
            : aws.Credentials is { } credentials ? options.WithCredentials(credentials)
            : !string.IsNullOrWhiteSpace(aws.Profile) ? options.WithProfile(aws.Profile)
            : options;

    /// <summary>Returns a copy taking region, profile and credentials from the AWS SDK's options where nothing else gives them.</summary>
    /// <param name="awsOptions">The AWS SDK's options; <see langword="null"/> to use the application's registered ones.</param>
    public virtual DsqlOptionsExtension WithAwsOptions(AWSOptions? awsOptions) => WithAuth(Auth with { AwsOptions = awsOptions });

    /// <summary>Returns a copy with a region.</summary>
    /// <param name="region">The AWS region.</param>
    public virtual DsqlOptionsExtension WithRegion(string? region) => WithAuth(Auth with { Region = region });

    /// <summary>Returns a copy with a profile.</summary>
    /// <param name="profile">The profile name.</param>
    public virtual DsqlOptionsExtension WithProfile(string? profile) => WithAuth(Auth with { Profile = profile });

    /// <summary>Returns a copy with credentials.</summary>
    /// <param name="credentials">The credentials.</param>
    public virtual DsqlOptionsExtension WithCredentials(AWSCredentials? credentials) => WithAuth(Auth with { Credentials = credentials });

    /// <summary>Returns a copy with a token lifetime, which must lie within the connector's bounds.</summary>
    /// <param name="duration">The lifetime.</param>
    /// <exception cref="ArgumentOutOfRangeException">The lifetime is not a whole number of seconds from 1 second to 7 days.</exception>
    public virtual DsqlOptionsExtension WithTokenDuration(TimeSpan? duration)
    {
        if (duration is { } value)
        {
            DsqlAuthTokenGenerator.ValidateExpiresIn(value, nameof(duration));
        }

        return WithAuth(Auth with { TokenDuration = duration });
    }

    /// <summary>Returns a copy with other authentication settings.</summary>
    /// <param name="auth">The settings.</param>
    public virtual DsqlOptionsExtension WithAuth(DsqlAuthSettings auth) => With(e => e.Auth = auth);

    /// <summary>Returns a copy with retry settings.</summary>
    /// <param name="retry">The settings.</param>
    public virtual DsqlOptionsExtension WithRetry(DsqlRetrySettings retry) => With(e => e.Retry = retry);

    /// <summary>Returns a copy with an identity cache size.</summary>
    /// <param name="cacheSize">1 or at least 65536.</param>
    /// <exception cref="ArgumentOutOfRangeException">DSQL does not accept the value.</exception>
    public virtual DsqlOptionsExtension WithIdentityCacheSize(long cacheSize)
    {
        if (!DsqlLimits.IsValidCache(cacheSize))
        {
            throw new ArgumentOutOfRangeException(nameof(cacheSize), cacheSize, DsqlStrings.InvalidIdentityCache(cacheSize));
        }

        return With(e => e.IdentityCacheSize = cacheSize);
    }

    /// <summary>Returns a copy with other migration settings.</summary>
    /// <param name="migrations">The settings.</param>
    public virtual DsqlOptionsExtension WithMigrations(DsqlMigrationsOptions migrations) => With(e => e.Migrations = migrations);

    /// <summary>Creates a copy; override in a derived extension.</summary>
    protected virtual DsqlOptionsExtension Clone() => new(this);

    /// <inheritdoc />
    public virtual void ApplyServices(IServiceCollection services) => services.AddEntityFrameworkDsql();

    /// <summary>Checks the settings that are only wrong together (each value is checked when it is set).</summary>
    /// <param name="options">The context options.</param>
    public virtual void Validate(IDbContextOptions options)
    {
        if (Auth is { Profile: not null, Credentials: not null })
        {
            throw new InvalidOperationException(DsqlStrings.ProfileAndCredentials);
        }

        if (UsesExternalDataSource && !Auth.IsEmpty)
        {
            throw new InvalidOperationException(DsqlStrings.DataSourceAndAuthSettings);
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

            // Refused here, once, before any context runs: not on every strategy creation (pool returns, health checks).
            if (npgsql.ExecutionStrategyFactory is { } strategyFactory)
            {
                DsqlExecutionStrategyFactory.GuardWithoutContext(strategyFactory, options);
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
        private (string Name, object? Value)[]? _serviceProviderSettings;

        private new DsqlOptionsExtension Extension => (DsqlOptionsExtension)base.Extension;

        public override bool IsDatabaseProvider => false;

        public override string LogFragment => _logFragment ??= BuildLogFragment();

        // Everything that changes a singleton service or the model, listed once: the hash, the equality and the debug
        // info all read this list. The connection (endpoint, role, region, profile, credentials, token lifetime) is not
        // in it: it only picks a data source, which the one DsqlDataSourceManager of the provider keys by all of it, so
        // credentials built per context (rotated keys, a refreshing credentials object per context) share one provider
        // instead of creating one each (EF refuses more than 20). The identity cache shapes the model, the other groups
        // are cheap to include whole.
        private (string Name, object? Value)[] ServiceProviderSettings()
        {
            return _serviceProviderSettings ??=
            [
                (nameof(UsesExternalDataSource), Extension.UsesExternalDataSource),
                (nameof(ConnectionSource), Extension.ConnectionSource is { } source && IsNamedConnectionString(source) ? source : null),
                (nameof(DsqlAuthSettings.AwsOptions), Extension.Auth.AwsOptions),
                (nameof(Retry), Extension.Retry),
                (nameof(IdentityCacheSize), Extension.IdentityCacheSize),
                (nameof(Migrations), Extension.Migrations),
            ];
        }

        public override int GetServiceProviderHashCode()
        {
            var hash = new HashCode();
            foreach (var (_, value) in ServiceProviderSettings())
            {
                hash.Add(value);
            }

            return hash.ToHashCode();
        }

        public override bool ShouldUseSameServiceProvider(DbContextOptionsExtensionInfo other)
            => other is ExtensionInfo otherInfo
                && ServiceProviderSettings().Select(s => s.Value).SequenceEqual(otherInfo.ServiceProviderSettings().Select(s => s.Value));

        // Hash codes only: the values may include credentials.
        public override void PopulateDebugInfo(IDictionary<string, string> debugInfo)
        {
            foreach (var (name, value) in ServiceProviderSettings())
            {
                debugInfo["Dsql:" + name] = (value?.GetHashCode() ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
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

            var retry = Extension.Retry.Options;
            builder.Append(
                Extension.Retry.Enabled
                    ? FormattableString.Invariant($"MaxRetryDuration={retry.MaxRetryDuration.TotalSeconds:0.###}s MaxRetryCount={retry.MaxRetryCount} ")
                    : "RetryOnFailure=false ");
            if (retry.CommitMarker is { } marker)
            {
                builder.Append("CommitMarker=").Append(marker.Schema).Append('.').Append(marker.Table).Append(' ');
            }

            builder.Append("IdentityCache=").Append(Extension.IdentityCacheSize).Append(' ');
            return builder.ToString();
        }
    }
}
