using Microsoft.EntityFrameworkCore.Migrations.Operations;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>
/// <c>EnsureCreated</c>, <c>EnsureDeleted</c> and <c>CanConnect</c> with DSQL semantics. A cluster has one database
/// (<c>postgres</c>), which always exists and cannot be created or dropped, and is often shared; so this creator
/// works on <em>the model's tables</em>: <c>EnsureCreated</c> creates them when none exists yet (one DDL statement per
/// transaction), <c>EnsureDeleted</c> drops the ones that exist, <c>CanConnect</c> opens a connection.
/// For evolving a schema, use migrations.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice. Scoped.</remarks>
public class DsqlDatabaseCreator(RelationalDatabaseCreatorDependencies dependencies) : RelationalDatabaseCreator(dependencies)
{
    /// <summary>Connects (IAM token included) and returns <see langword="true"/>: the cluster's database always exists.</summary>
    public override bool Exists()
        => Dependencies.ExecutionStrategy.Execute(
            Dependencies.Connection,
            static connection =>
            {
                connection.Open(errorsExpected: true);
                connection.Close();
                return true;
            });

    /// <summary>Connects (IAM token included) and returns <see langword="true"/>: the cluster's database always exists.</summary>
    /// <param name="cancellationToken">Cancels the connection attempt.</param>
    public override Task<bool> ExistsAsync(CancellationToken cancellationToken = default)
        => Dependencies.ExecutionStrategy.ExecuteAsync(
            Dependencies.Connection,
            static async (connection, ct) =>
            {
                await connection.OpenAsync(ct, errorsExpected: true).ConfigureAwait(false);
                await connection.CloseAsync().ConfigureAwait(false);
                return true;
            },
            cancellationToken);

    /// <summary>Whether a connection can be opened; failures are reported as <see langword="false"/>, not thrown.</summary>
    public override bool CanConnect()
    {
        try
        {
            return Exists();
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or TimeoutException or Amazon.Runtime.AmazonClientException)
        {
            return false;
        }
    }

    /// <summary>Whether a connection can be opened; failures are reported as <see langword="false"/>, not thrown.</summary>
    /// <param name="cancellationToken">Cancels the connection attempt.</param>
    public override async Task<bool> CanConnectAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await ExistsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or TimeoutException or Amazon.Runtime.AmazonClientException)
        {
            return false;
        }
    }

    /// <summary>Refuses: the cluster's only database always exists.</summary>
    public override void Create() => throw new NotSupportedException(DsqlStrings.CreateDatabaseNotSupported);

    /// <summary>Refuses: the cluster's only database always exists.</summary>
    /// <param name="cancellationToken">Unused.</param>
    public override Task CreateAsync(CancellationToken cancellationToken = default)
        => throw new NotSupportedException(DsqlStrings.CreateDatabaseNotSupported);

    /// <summary>Whether any of the model's tables exists (other applications' tables in the shared database do not count).</summary>
    public override bool HasTables()
        => Dependencies.ExecutionStrategy.Execute(this, static creator => creator.CountExistingTables() > 0);

    /// <summary>Whether any of the model's tables exists (other applications' tables in the shared database do not count).</summary>
    /// <param name="cancellationToken">Cancels the query.</param>
    public override Task<bool> HasTablesAsync(CancellationToken cancellationToken = default)
        => Dependencies.ExecutionStrategy.ExecuteAsync(
            this, static async (creator, ct) => await creator.CountExistingTablesAsync(ct).ConfigureAwait(false) > 0, cancellationToken);

    /// <summary>Creates the model's tables, each DDL command in its own transaction, as DSQL requires.</summary>
    public override void CreateTables()
    {
        foreach (var command in GetCreateTablesCommands())
        {
            Dependencies.ExecutionStrategy.Execute(
                (Creator: this, Command: command),
                static s => s.Creator.Dependencies.MigrationCommandExecutor.ExecuteNonQuery([s.Command], s.Creator.Dependencies.Connection));
        }
    }

    /// <summary>Creates the model's tables, each DDL command in its own transaction, as DSQL requires.</summary>
    /// <param name="cancellationToken">Cancels the remaining commands.</param>
    public override async Task CreateTablesAsync(CancellationToken cancellationToken = default)
    {
        foreach (var command in GetCreateTablesCommands())
        {
            await Dependencies.ExecutionStrategy.ExecuteAsync(
                (Creator: this, Command: command),
                static (s, ct) => s.Creator.Dependencies.MigrationCommandExecutor.ExecuteNonQueryAsync([s.Command], s.Creator.Dependencies.Connection, ct),
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Drops the model's tables and sequences that exist, dependents first, one statement per transaction.</summary>
    public override void Delete()
    {
        foreach (var sql in GetDropStatements())
        {
            Dependencies.ExecutionStrategy.Execute((Creator: this, Sql: sql), static s => s.Creator.ExecuteNonQuery(s.Sql));
        }
    }

    /// <summary>Drops the model's tables and sequences that exist, dependents first, one statement per transaction.</summary>
    /// <param name="cancellationToken">Cancels the remaining statements.</param>
    public override async Task DeleteAsync(CancellationToken cancellationToken = default)
    {
        foreach (var sql in GetDropStatements())
        {
            await Dependencies.ExecutionStrategy.ExecuteAsync(
                (Creator: this, Sql: sql), static (s, ct) => s.Creator.ExecuteNonQueryAsync(s.Sql, ct), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The <c>DROP … IF EXISTS</c> statements for the model, in an order foreign keys allow.</summary>
    public virtual IReadOnlyList<string> GetDropStatements()
    {
        var helper = Dependencies.SqlGenerationHelper;
        return Dependencies.ModelDiffer.GetDifferences(Model.GetRelationalModel(), null)
            .Select(operation => operation switch
            {
                DropTableOperation table => $"DROP TABLE IF EXISTS {helper.DelimitIdentifier(table.Name, table.Schema)}",
                DropSequenceOperation sequence => $"DROP SEQUENCE IF EXISTS {helper.DelimitIdentifier(sequence.Name, sequence.Schema)}",
                _ => null,
            })
            .OfType<string>()
            .ToList();
    }

    private IModel Model => Dependencies.CurrentContext.Context.GetService<IDesignTimeModel>().Model;

    private string[] ModelTableNames()
        => Model.GetRelationalModel().Tables.Select(t => $"{t.Schema ?? Model.GetDefaultSchema() ?? "public"}.{t.Name}").ToArray();

    private const string CountTablesSql =
        "SELECT count(*) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND concat(table_schema, '.', table_name) = ANY(@names)";

    private long CountExistingTables()
    {
        var connection = Dependencies.Connection;
        connection.Open();
        try
        {
            using var command = CreateCountCommand(connection.DbConnection);
            return Convert.ToInt64(command.ExecuteScalar());
        }
        finally
        {
            connection.Close();
        }
    }

    private async Task<long> CountExistingTablesAsync(CancellationToken cancellationToken)
    {
        var connection = Dependencies.Connection;
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = CreateCountCommand(connection.DbConnection);
            return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            await connection.CloseAsync().ConfigureAwait(false);
        }
    }

    private DbCommand CreateCountCommand(DbConnection connection)
    {
        var command = connection.CreateCommand();
        command.CommandText = CountTablesSql;
        var parameter = command.CreateParameter();
        parameter.ParameterName = "names";
        parameter.Value = ModelTableNames();
        command.Parameters.Add(parameter);
        return command;
    }

    private int ExecuteNonQuery(string sql)
    {
        var connection = Dependencies.Connection;
        connection.Open();
        try
        {
            using var command = connection.DbConnection.CreateCommand();
            command.CommandText = sql;
            return command.ExecuteNonQuery();
        }
        finally
        {
            connection.Close();
        }
    }

    private async Task<int> ExecuteNonQueryAsync(string sql, CancellationToken cancellationToken)
    {
        var connection = Dependencies.Connection;
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var command = connection.DbConnection.CreateCommand();
            command.CommandText = sql;
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await connection.CloseAsync().ConfigureAwait(false);
        }
    }
}
