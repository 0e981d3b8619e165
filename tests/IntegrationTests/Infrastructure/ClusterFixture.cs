using System.Collections.Concurrent;
using System.Data;
using System.Globalization;
using System.Security.Cryptography;

namespace EFCore.Dsql.IntegrationTests.Infrastructure;

/// <summary>The one collection of the suite: its tests share the cluster, its schema and the process environment.</summary>
[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Cluster";
}

/// <summary>
/// Creates the run's own schema on the cluster before the first test and drops it — with every table, and every role the
/// tests created — after the last, whatever failed in between.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private readonly ConcurrentDictionary<string, byte> _roles = new();
    private NpgsqlDataSource? _dataSource;

    /// <summary>The schema of this run: unique, so runs against one cluster never meet.</summary>
    public static string Schema { get; } = UniqueName("it_" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "_", 3);

    /// <summary><paramref name="prefix"/> followed by <paramref name="randomBytes"/> random bytes in hex: a name no other run uses.</summary>
    public static string UniqueName(string prefix, int randomBytes = 4) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(randomBytes));

    /// <summary>The cluster.</summary>
    public ClusterTarget Target { get; } = ClusterTarget.Current;

    /// <summary>Admin connections to the cluster, a fresh token per physical connection.</summary>
    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("The fixture is not initialized.");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _dataSource = Target.CreateDataSource();
        await ExecuteAsync($"CREATE SCHEMA {Schema}");
        if (Environment.GetEnvironmentVariable("DSQL_TEST_SUMMARY_DIR") is { Length: > 0 } summaries)
        {
            Directory.CreateDirectory(summaries);
            await File.WriteAllTextAsync(
                Path.Combine(summaries, "integration-target.txt"),
                $"integration: ran against {Target.Description} as {Target.Options.Username} in schema {Schema}\n");
        }
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_dataSource is null)
        {
            return;
        }

        try
        {
            await DropSchemaAsync(Schema);
            foreach (var role in _roles.Keys)
            {
                await DropRoleAsync(role);
            }
        }
        finally
        {
            await _dataSource.DisposeAsync();
        }
    }

    /// <summary>Runs one statement as admin, in its own (implicit) transaction.</summary>
    public async Task<int> ExecuteAsync(string sql, params object[] parameters)
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        await using var command = Command(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>The first column of the first row of a query run as admin.</summary>
    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var connection = await DataSource.OpenConnectionAsync();
        await using var command = Command(connection, sql, parameters);
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync())!, typeof(T), CultureInfo.InvariantCulture);
    }

    /// <summary>Creates <c>schema.name</c> with <paramref name="columns"/>; disposing the result drops it, even after a failure.</summary>
    public async Task<ScratchTable> CreateTableAsync(string name, string columns)
    {
        var table = new ScratchTable(this, $"{Schema}.{name}");
        await ExecuteAsync($"CREATE TABLE {table.Name} ({columns})");
        return table;
    }

    /// <summary>Whether <c>schema.name</c> exists.</summary>
    public async Task<bool> TableExistsAsync(string schema, string name)
        => await ScalarAsync<long>("SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2", schema, name) == 1;

    /// <summary>Remembers a role the tests created, so that it is dropped at the end of the run if the test could not.</summary>
    public void TrackRole(string role) => _roles.TryAdd(role, 0);

    /// <summary>Revokes a role's IAM mappings and drops it; a missing role is fine.</summary>
    public async Task DropRoleAsync(string role)
    {
        var arns = new List<string>();
        try
        {
            await using var connection = await DataSource.OpenConnectionAsync();
            await using var command = Command(connection, "SELECT arn FROM sys.iam_pg_role_mappings WHERE pg_role_name = $1", role);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                arns.Add(reader.GetString(0));
            }
        }
        catch (PostgresException)
        {
            // No mapping catalogue: nothing to revoke.
        }

        foreach (var arn in arns)
        {
            await ExecuteAsync($"AWS IAM REVOKE {role} FROM '{arn.Replace("'", "''", StringComparison.Ordinal)}'");
        }

        if (await ScalarAsync<long>("SELECT count(*) FROM pg_roles WHERE rolname = $1", role) > 0)
        {
            // A role with privileges left on the suite's schema cannot be dropped (2BP01); DROP OWNED is not DSQL's.
            await ExecuteAsync($"REVOKE ALL ON SCHEMA {Schema} FROM {role}");
            await ExecuteAsync($"DROP ROLE {role}");
        }

        _roles.TryRemove(role, out _);
    }

    /// <summary>Drops every table of <paramref name="schema"/> (dependants first), then the schema.</summary>
    public async Task DropSchemaAsync(string schema)
    {
        // Foreign keys: a table can be dropped once nothing else references it; a few passes settle any order.
        for (var pass = 0; pass < 5; pass++)
        {
            var tables = new List<string>();
            await using (var connection = await DataSource.OpenConnectionAsync())
            await using (var command = Command(connection, "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema))
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    tables.Add(reader.GetString(0));
                }
            }

            if (tables.Count == 0)
            {
                break;
            }

            foreach (var table in tables)
            {
                try
                {
                    await ExecuteAsync($"DROP TABLE IF EXISTS {schema}.\"{table}\"");
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DependentObjectsStillExist)
                {
                    // Referenced by a table dropped later in this pass; the next pass gets it.
                }
            }
        }

        await ExecuteAsync($"DROP SCHEMA IF EXISTS {schema}");
    }

    /// <summary>A command with positional parameters <c>$1</c>, <c>$2</c>, …</summary>
    public static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params object[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return command;
    }

    /// <summary>Begins the only transaction DSQL runs, <c>REPEATABLE READ</c>.</summary>
    public static ValueTask<NpgsqlTransaction> BeginAsync(NpgsqlConnection connection)
        => connection.BeginTransactionAsync(IsolationLevel.RepeatableRead);
}

/// <summary>A table a test created; disposing it drops it.</summary>
public sealed class ScratchTable(ClusterFixture fixture, string name) : IAsyncDisposable
{
    /// <summary>The schema-qualified name.</summary>
    public string Name { get; } = name;

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await fixture.ExecuteAsync($"DROP TABLE IF EXISTS {Name}");
}
