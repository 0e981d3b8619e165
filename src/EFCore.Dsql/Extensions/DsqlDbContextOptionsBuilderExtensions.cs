using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;

// ReSharper disable once CheckNamespace
namespace Microsoft.EntityFrameworkCore;

/// <summary>Configures a <see cref="DbContext"/> for Amazon Aurora DSQL.</summary>
public static class DsqlDbContextOptionsBuilderExtensions
{
    /// <summary>
    /// Connects the context to an Aurora DSQL cluster through Npgsql, with IAM authentication (a fresh token for every
    /// new connection), DSQL-safe connection defaults, transactions DSQL accepts, no savepoints, model validation and
    /// automatic retries of optimistic-concurrency conflicts.
    /// </summary>
    /// <param name="optionsBuilder">The options builder.</param>
    /// <param name="hostClusterIdOrConnectionString">
    /// The cluster endpoint (<c>&lt;cluster-id&gt;.dsql.&lt;region&gt;.on.aws</c>), a cluster ID (then set the region), a
    /// <c>postgresql://</c> URI or a keyword connection string without a password, as read by
    /// <see cref="DsqlConnectionOptions.Parse"/> (defaults: role <c>admin</c>, database <c>postgres</c>, port 5432,
    /// verify-full TLS, 55-minute connection lifetime, no reset on close).
    /// </param>
    /// <param name="dsqlOptions">Region, credentials, retry and model settings.</param>
    /// <returns>The options builder.</returns>
    public static DbContextOptionsBuilder UseAuroraDsql(
        this DbContextOptionsBuilder optionsBuilder,
        string hostClusterIdOrConnectionString,
        Action<DsqlDbContextOptionsBuilder>? dsqlOptions = null)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        ArgumentException.ThrowIfNullOrWhiteSpace(hostClusterIdOrConnectionString);

        return Configure(optionsBuilder, GetOrCreateExtension(optionsBuilder).WithConnectionSource(hostClusterIdOrConnectionString), dsqlOptions);
    }

    /// <summary>
    /// Connects the context to an Aurora DSQL cluster described by the connector's options, with IAM authentication,
    /// transactions DSQL accepts, no savepoints, model validation and automatic retries of optimistic-concurrency conflicts.
    /// Contexts with equal options share one connection pool.
    /// </summary>
    /// <param name="optionsBuilder">The options builder.</param>
    /// <param name="connectionOptions">The connection options (endpoint, role, region, credentials, Npgsql settings).</param>
    /// <param name="dsqlOptions">Retry and model settings; region, profile, credentials and token lifetime set here override the options.</param>
    /// <returns>The options builder.</returns>
    public static DbContextOptionsBuilder UseAuroraDsql(
        this DbContextOptionsBuilder optionsBuilder,
        DsqlConnectionOptions connectionOptions,
        Action<DsqlDbContextOptionsBuilder>? dsqlOptions = null)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        ArgumentNullException.ThrowIfNull(connectionOptions);
        return Configure(optionsBuilder, GetOrCreateExtension(optionsBuilder).WithConnectionOptions(connectionOptions), dsqlOptions);
    }

    /// <summary>
    /// Connects the context to Aurora DSQL through an <see cref="NpgsqlDataSource"/> the application built (for
    /// example with the connector's <c>DsqlDataSource</c>), which owns authentication and pooling; EFCore.Dsql adds
    /// transactions DSQL accepts, no savepoints, model validation and automatic retries.
    /// </summary>
    /// <param name="optionsBuilder">The options builder.</param>
    /// <param name="dataSource">The data source; the application owns and disposes it.</param>
    /// <param name="dsqlOptions">Retry and model settings.</param>
    /// <returns>The options builder.</returns>
    public static DbContextOptionsBuilder UseAuroraDsql(
        this DbContextOptionsBuilder optionsBuilder,
        NpgsqlDataSource dataSource,
        Action<DsqlDbContextOptionsBuilder>? dsqlOptions = null)
    {
        ArgumentNullException.ThrowIfNull(optionsBuilder);
        if (dataSource is null)
        {
            throw new ArgumentNullException(nameof(dataSource), DsqlStrings.NullDataSource);
        }

        ConfigureNpgsql(optionsBuilder, npgsql => npgsql.UseNpgsql(dataSource));
        AddOrUpdate(optionsBuilder, GetOrCreateExtension(optionsBuilder).WithExternalDataSource());
        dsqlOptions?.Invoke(new DsqlDbContextOptionsBuilder(optionsBuilder));
        return optionsBuilder;
    }

    /// <inheritdoc cref="UseAuroraDsql(DbContextOptionsBuilder, string, Action{DsqlDbContextOptionsBuilder}?)"/>
    /// <typeparam name="TContext">The context type.</typeparam>
    public static DbContextOptionsBuilder<TContext> UseAuroraDsql<TContext>(
        this DbContextOptionsBuilder<TContext> optionsBuilder,
        string hostClusterIdOrConnectionString,
        Action<DsqlDbContextOptionsBuilder>? dsqlOptions = null)
        where TContext : DbContext
        => (DbContextOptionsBuilder<TContext>)UseAuroraDsql((DbContextOptionsBuilder)optionsBuilder, hostClusterIdOrConnectionString, dsqlOptions);

    /// <inheritdoc cref="UseAuroraDsql(DbContextOptionsBuilder, DsqlConnectionOptions, Action{DsqlDbContextOptionsBuilder}?)"/>
    /// <typeparam name="TContext">The context type.</typeparam>
    public static DbContextOptionsBuilder<TContext> UseAuroraDsql<TContext>(
        this DbContextOptionsBuilder<TContext> optionsBuilder,
        DsqlConnectionOptions connectionOptions,
        Action<DsqlDbContextOptionsBuilder>? dsqlOptions = null)
        where TContext : DbContext
        => (DbContextOptionsBuilder<TContext>)UseAuroraDsql((DbContextOptionsBuilder)optionsBuilder, connectionOptions, dsqlOptions);

    /// <inheritdoc cref="UseAuroraDsql(DbContextOptionsBuilder, NpgsqlDataSource, Action{DsqlDbContextOptionsBuilder}?)"/>
    /// <typeparam name="TContext">The context type.</typeparam>
    public static DbContextOptionsBuilder<TContext> UseAuroraDsql<TContext>(
        this DbContextOptionsBuilder<TContext> optionsBuilder,
        NpgsqlDataSource dataSource,
        Action<DsqlDbContextOptionsBuilder>? dsqlOptions = null)
        where TContext : DbContext
        => (DbContextOptionsBuilder<TContext>)UseAuroraDsql((DbContextOptionsBuilder)optionsBuilder, dataSource, dsqlOptions);

    private static DbContextOptionsBuilder Configure(
        DbContextOptionsBuilder optionsBuilder, DsqlOptionsExtension extension, Action<DsqlDbContextOptionsBuilder>? dsqlOptions)
    {
        ConfigureNpgsql(optionsBuilder, npgsql => npgsql.UseNpgsql());
        AddOrUpdate(optionsBuilder, extension);
        dsqlOptions?.Invoke(new DsqlDbContextOptionsBuilder(optionsBuilder));

        // Checked here as well as when EF builds its service provider: contexts that differ only in their connection share
        // one provider, whose validation ran for the first of them.
        var configured = optionsBuilder.Options.FindExtension<DsqlOptionsExtension>()!;
        configured.Validate(optionsBuilder.Options);
        var npgsql = optionsBuilder.Options.FindExtension<NpgsqlOptionsExtension>()!;
        if (configured.ConnectionSource is { } source && DsqlOptionsExtension.IsNamedConnectionString(source))
        {
            // Name=ConnectionStrings:Shop: read from the application's configuration when the first connection is made, as
            // UseNpgsql does; EF resolves the name with the same INamedConnectionStringResolver.
            AddOrUpdate(optionsBuilder, npgsql.WithConnectionString(source));
            return optionsBuilder;
        }

        // Resolve now, so a bad endpoint or region fails here with the connector's message (parsing does no I/O beyond
        // reading AWS config files for a region), and give Npgsql the connection string (GetConnectionString(), logs, tools).
        var connectionOptions = configured.ConnectionOptions!;
        AddOrUpdate(optionsBuilder, npgsql.WithConnectionString(connectionOptions.ToNpgsqlConnectionStringBuilder().ConnectionString));
        return optionsBuilder;
    }

    // DSQL reports PostgreSQL 16; telling Npgsql keeps it from generating SQL newer servers only understand.
    // The application's own settings (applied afterwards through o.Npgsql(...)) still win.
    private static void ConfigureNpgsql(DbContextOptionsBuilder optionsBuilder, Action<DbContextOptionsBuilder> useNpgsql)
    {
        useNpgsql(optionsBuilder);
        var npgsql = optionsBuilder.Options.FindExtension<NpgsqlOptionsExtension>()!;
        if (!npgsql.IsPostgresVersionSet)
        {
            AddOrUpdate(optionsBuilder, npgsql.WithPostgresVersion(DsqlLimits.ServerVersion));
        }

        // On DSQL every DDL statement of a migration runs outside a transaction by design, so EF's warning about
        // non-transactional migration operations would fire for each one; demote it to Debug unless the application chose.
        var warnings = optionsBuilder.Options.FindExtension<CoreOptionsExtension>()?.WarningsConfiguration;
        if (warnings?.GetBehavior(RelationalEventId.NonTransactionalMigrationOperationWarning) is null)
        {
            optionsBuilder.ConfigureWarnings(
                w => w.Log((RelationalEventId.NonTransactionalMigrationOperationWarning, LogLevel.Debug)));
        }
    }

    private static DsqlOptionsExtension GetOrCreateExtension(DbContextOptionsBuilder optionsBuilder)
        => optionsBuilder.Options.FindExtension<DsqlOptionsExtension>() ?? new DsqlOptionsExtension();

    private static void AddOrUpdate<TExtension>(DbContextOptionsBuilder optionsBuilder, TExtension extension)
        where TExtension : class, IDbContextOptionsExtension
        => ((IDbContextOptionsBuilderInfrastructure)optionsBuilder).AddOrUpdateExtension(extension);
}
