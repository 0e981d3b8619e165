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
        : base(dependencies, ResolveDataSource(dependencies, dsqlDataSources, npgsqlDataSources, options))
    {
        _dsqlDataSources = dsqlDataSources;
        _dsqlOptions = options.FindExtension<DsqlOptionsExtension>();
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
                DbDataSource = _dsqlDataSources.GetDataSource(
                    _dsqlOptions.ResolveForConnection(value, Dependencies.ConnectionStringResolver, core?.ApplicationServiceProvider)!,
                    Dependencies.ContextOptions.FindExtension<NpgsqlOptionsExtension>(),
                    LoggerFactory(core));
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

    private static DbDataSource? ResolveDataSource(
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
        return npgsqlOptions is { DataSource: null, Connection: null }
            && dsqlOptions?.ResolveForConnection(null, dependencies.ConnectionStringResolver, core?.ApplicationServiceProvider) is { } connectionOptions
                ? dsqlDataSources.GetDataSource(connectionOptions, npgsqlOptions, LoggerFactory(core))
                : npgsqlDataSources.GetDataSource(npgsqlOptions, core?.ApplicationServiceProvider);
    }

    // The application's logger factory (UseLoggerFactory, else the one in its services): connector and Npgsql logs go there.
    private static ILoggerFactory? LoggerFactory(CoreOptionsExtension? core)
        => core?.LoggerFactory ?? core?.ApplicationServiceProvider?.GetService<ILoggerFactory>();
}
