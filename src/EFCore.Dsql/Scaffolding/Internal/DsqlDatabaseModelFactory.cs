using Microsoft.EntityFrameworkCore.Scaffolding;
using Microsoft.EntityFrameworkCore.Scaffolding.Metadata;
using Npgsql.EntityFrameworkCore.PostgreSQL.Scaffolding.Internal;

namespace Microsoft.EntityFrameworkCore.Dsql.Scaffolding.Internal;

/// <summary>
/// Reads a DSQL database's schema for <c>dotnet ef dbcontext scaffold</c>: the connection string is read as
/// <c>UseAuroraDsql</c> reads it (an endpoint, cluster ID, URI or keyword string without a password) and the connection
/// authenticates with an IAM token; the emulator's own schemas (<c>dsql_local</c>, <c>sys</c>) and the migrations
/// history and lock tables are left out unless asked for by name.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public class DsqlDatabaseModelFactory(IDiagnosticsLogger<DbLoggerCategory.Scaffolding> logger) : NpgsqlDatabaseModelFactory(logger)
{
    /// <summary>Schemas that belong to DSQL or its emulator, never to the application.</summary>
    public static IReadOnlyList<string> SystemSchemas { get; } = ["sys", "dsql_local"];

    /// <summary>Tables EF's migrations own on DSQL (the history and EFCore.Dsql's migration lock).</summary>
    public static IReadOnlyList<string> MigrationsTables { get; } = ["__EFMigrationsHistory", "__EFMigrationsLock"];

    /// <inheritdoc />
    public override DatabaseModel Create(string connectionString, DatabaseModelFactoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        ArgumentNullException.ThrowIfNull(options);

        using var dataSource = DsqlDataSource.Create(DsqlConnectionOptions.Parse(connectionString));
        using var connection = dataSource.OpenConnection();
        return Create(connection, options);
    }

    /// <inheritdoc />
    public override DatabaseModel Create(DbConnection connection, DatabaseModelFactoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var model = base.Create(connection, options);
        RemoveInfrastructure(model, options);
        return model;
    }

    /// <summary>Removes the system schemas' objects and the migrations tables, unless the options name them.</summary>
    /// <param name="model">The scaffolded model.</param>
    /// <param name="options">The schemas and tables the user asked for.</param>
    public static void RemoveInfrastructure(DatabaseModel model, DatabaseModelFactoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);

        var schemas = options.Schemas.ToHashSet(StringComparer.Ordinal);
        var tables = options.Tables.ToHashSet(StringComparer.Ordinal);
        bool Requested(string? schema, string name)
            => (schema is not null && schemas.Contains(schema)) || tables.Contains(name) || (schema is not null && tables.Contains($"{schema}.{name}"));
        bool Infrastructure(string? schema, string name)
            => !Requested(schema, name) && ((schema is not null && SystemSchemas.Contains(schema)) || MigrationsTables.Contains(name));

        var removed = model.Tables.Where(t => Infrastructure(t.Schema, t.Name)).ToHashSet();
        foreach (var table in removed)
        {
            model.Tables.Remove(table);
        }

        foreach (var table in model.Tables)
        {
            foreach (var foreignKey in table.ForeignKeys.Where(fk => removed.Contains(fk.PrincipalTable)).ToList())
            {
                table.ForeignKeys.Remove(foreignKey);
            }
        }

        foreach (var sequence in model.Sequences.Where(s => Infrastructure(s.Schema, s.Name) && s.Schema is not null && SystemSchemas.Contains(s.Schema)).ToList())
        {
            model.Sequences.Remove(sequence);
        }
    }
}
