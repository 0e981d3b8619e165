using System.Data;
using Dsql.Npgsql.Internal;
using Npgsql;
using Npgsql.EntityFrameworkCore.PostgreSQL.Infrastructure.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Storage.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>
/// Npgsql's EF connection, with an IAM-authenticated data source per DSQL configuration and transactions begun at an
/// isolation level DSQL accepts.
/// </summary>
/// <remarks>
/// This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice. Scoped.
/// Npgsql begins a transaction with no level as <c>BEGIN TRANSACTION ISOLATION LEVEL READ COMMITTED</c>, which DSQL
/// refuses; DSQL only runs REPEATABLE READ (snapshot isolation), so that is what every EF transaction asks for.
/// </remarks>
public class DsqlRelationalConnection : NpgsqlRelationalConnection
{
    private readonly DsqlDataSourceManager? _dsqlDataSources;
    private readonly DsqlOptionsExtension? _dsqlOptions;
    private DsqlDataSourceLease? _lease;
    private DsqlConnectionOptions? _rentedOptions;

    /// <summary>Creates the connection.</summary>
    /// <param name="dependencies">EF's connection dependencies.</param>
    /// <param name="dsqlDataSources">The DSQL data-source manager.</param>
    /// <param name="npgsqlDataSources">Npgsql's data-source manager, for application-supplied data sources and connections.</param>
    /// <param name="options">The context options.</param>
    public DsqlRelationalConnection(
        RelationalConnectionDependencies dependencies,
        DsqlDataSourceManager dsqlDataSources,
        NpgsqlDataSourceManager npgsqlDataSources,
        IDbContextOptions options)
        : this(dependencies, dsqlDataSources, options, RentDataSource(dependencies, dsqlDataSources, npgsqlDataSources, options))
    {
    }

    private DsqlRelationalConnection(
        RelationalConnectionDependencies dependencies,
        DsqlDataSourceManager dsqlDataSources,
        IDbContextOptions options,
        (DbDataSource? DataSource, DsqlDataSourceLease? Lease, DsqlConnectionOptions? Options) rented)
        : base(dependencies, rented.DataSource)
    {
        _dsqlDataSources = dsqlDataSources;
        _dsqlOptions = options.FindExtension<DsqlOptionsExtension>();
        _lease = rented.Lease;
        _rentedOptions = rented.Options;
    }

    /// <summary>
    /// Creates the connection; a context reused after <see cref="Dispose"/> (a pooled context) rents its IAM data source
    /// again first, getting a new one if the old one was evicted meanwhile.
    /// </summary>
    protected override DbConnection CreateDbConnection()
    {
        if (_lease is null && _rentedOptions is { } options && _dsqlDataSources is not null)
        {
            var core = Dependencies.ContextOptions.FindExtension<CoreOptionsExtension>();
            var lease = _dsqlDataSources.Rent(options, Dependencies.ContextOptions.FindExtension<NpgsqlOptionsExtension>(), LoggerFactory(core));
            DbDataSource = lease.DataSource;
            _lease = lease;
        }

        return base.CreateDbConnection();
    }

    /// <summary>
    /// Closes the connection and lets go of its IAM data source (an evicted one is disposed once no context uses it).
    /// EF also calls this when a pooled context returns to the pool.
    /// </summary>
    public override void Dispose()
    {
        base.Dispose();
        Interlocked.Exchange(ref _lease, null)?.Dispose();
    }

    /// <summary>Closes the connection and lets go of its IAM data source (an evicted one is disposed once no context uses it).</summary>
    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        Interlocked.Exchange(ref _lease, null)?.Dispose();
    }

    /// <summary>
    /// The connection string. Setting one (as <c>dotnet ef database update --connection</c> and
    /// <c>Database.SetConnectionString</c> do) keeps IAM authentication: the new endpoint or connection string gets
    /// its own token-authenticated data source instead of Npgsql's password-less plain connection.
    /// </summary>
    public override string? ConnectionString
    {
        get => base.ConnectionString;
        set
        {
            if (value is not null && _dsqlDataSources is not null && _dsqlOptions is { UsesExternalDataSource: false })
            {
                var core = Dependencies.ContextOptions.FindExtension<CoreOptionsExtension>();
                _rentedOptions = _dsqlOptions.ResolveForConnection(value, Dependencies.ConnectionStringResolver, core?.ApplicationServiceProvider)!;
                var lease = _dsqlDataSources.Rent(_rentedOptions, Dependencies.ContextOptions.FindExtension<NpgsqlOptionsExtension>(), LoggerFactory(core));
                DbDataSource = lease.DataSource;
                Interlocked.Exchange(ref _lease, lease)?.Dispose();
                return;
            }

            base.ConnectionString = value;
        }
    }

    /// <summary>Maps an EF isolation level to the one DSQL gives, refusing levels DSQL cannot honour.</summary>
    /// <param name="isolationLevel">The requested level.</param>
    public static IsolationLevel MapIsolationLevel(IsolationLevel isolationLevel)
        => isolationLevel switch
        {
            IsolationLevel.Unspecified or IsolationLevel.RepeatableRead or IsolationLevel.Snapshot => IsolationLevel.RepeatableRead,
            _ => throw new NotSupportedException(DsqlStrings.IsolationLevelNotSupported(isolationLevel)),
        };

    /// <inheritdoc />
    protected override DbTransaction ConnectionBeginTransaction(IsolationLevel isolationLevel)
    {
        var level = MapIsolationLevel(isolationLevel);
        if (CommitMarker is { } marker)
        {
            DsqlCommitMarkerStore.EnsureTable((NpgsqlConnection)DbConnection, marker);
        }

        return base.ConnectionBeginTransaction(level);
    }

    /// <inheritdoc />
    protected override async ValueTask<DbTransaction> ConnectionBeginTransactionAsync(
        IsolationLevel isolationLevel, CancellationToken cancellationToken = default)
    {
        var level = MapIsolationLevel(isolationLevel);
        if (CommitMarker is { } marker)
        {
            await DsqlCommitMarkerStore.EnsureTableAsync((NpgsqlConnection)DbConnection, marker, cancellationToken).ConfigureAwait(false);
        }

        return await base.ConnectionBeginTransactionAsync(level, cancellationToken).ConfigureAwait(false);
    }

    // The commit-marker table must exist before a transaction begins: DSQL runs DDL in a transaction of its own.
    private DsqlCommitMarkerOptions? CommitMarker => _dsqlOptions?.Retry.Options.CommitMarker;

    private static (DbDataSource? DataSource, DsqlDataSourceLease? Lease, DsqlConnectionOptions? Options) RentDataSource(
        RelationalConnectionDependencies dependencies,
        DsqlDataSourceManager dsqlDataSources,
        NpgsqlDataSourceManager npgsqlDataSources,
        IDbContextOptions options)
    {
        var npgsqlOptions = options.FindExtension<NpgsqlOptionsExtension>();
        var dsqlOptions = options.FindExtension<DsqlOptionsExtension>();
        var core = options.FindExtension<CoreOptionsExtension>();

        // UseAuroraDsql(endpoint | cluster ID | connection string | Name=…): our IAM data source, with a named connection
        // string and an AWSOptions taken from the application now. Anything else (an application's NpgsqlDataSource or
        // DbConnection) is resolved exactly as Npgsql does.
        if (npgsqlOptions is { DataSource: null, Connection: null }
            && dsqlOptions?.ResolveForConnection(null, dependencies.ConnectionStringResolver, core?.ApplicationServiceProvider) is { } connectionOptions)
        {
            var lease = dsqlDataSources.Rent(connectionOptions, npgsqlOptions, LoggerFactory(core));
            return (lease.DataSource, lease, connectionOptions);
        }

        return (npgsqlDataSources.GetDataSource(npgsqlOptions, core?.ApplicationServiceProvider), null, null);
    }

    // The application's logger factory (UseLoggerFactory, else the one in its services): connector and Npgsql logs go there.
    private static ILoggerFactory? LoggerFactory(CoreOptionsExtension? core)
        => core?.LoggerFactory ?? core?.ApplicationServiceProvider?.GetService<ILoggerFactory>();
}
