using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;

namespace Dsql.Npgsql.Internal;

/// <summary>
/// The SQL of commit markers (<see cref="DsqlCommitMarkerOptions"/>): creating the table once per process and database,
/// inserting a unit's marker in its transaction, looking it up on a new connection after a lost <c>COMMIT</c>, and
/// deleting expired markers. Shared by <see cref="DsqlRetry"/> and EF Core's transactions.
/// </summary>
internal static class DsqlCommitMarkerStore
{
    /// <summary>At most this many markers are deleted per transaction, well under DSQL's 3,000 rows.</summary>
    public const int DeleteBatchSize = 1000;

    // Tables known to exist, by server, database and table: created at most once per process.
    private static readonly ConcurrentDictionary<string, bool> KnownTables = new(StringComparer.Ordinal);

    /// <summary>The quoted <c>"schema"."table"</c> name.</summary>
    public static string QualifiedName(DsqlCommitMarkerOptions options) => Quote(options.Schema) + "." + Quote(options.Table);

    /// <summary>Creates the table unless it is known to exist; must run outside a transaction (DDL in its own transaction).</summary>
    public static void EnsureTable(NpgsqlConnection connection, DsqlCommitMarkerOptions options)
    {
        if (NeedsTable(connection, options, out var key))
        {
            using var command = CreateTableCommand(connection, options);
            command.ExecuteNonQuery();
            KnownTables[key] = true;
        }
    }

    /// <inheritdoc cref="EnsureTable"/>
    public static async Task EnsureTableAsync(NpgsqlConnection connection, DsqlCommitMarkerOptions options, CancellationToken cancellationToken)
    {
        if (NeedsTable(connection, options, out var key))
        {
            var command = CreateTableCommand(connection, options);
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            KnownTables[key] = true;
        }
    }

    /// <summary>
    /// Inserts the marker in <paramref name="transaction"/>. Returns <see langword="false"/> when it already exists (a
    /// unique violation): an earlier attempt of the same unit committed, so this one must not (roll it back).
    /// </summary>
    public static bool TryInsert(NpgsqlConnection connection, NpgsqlTransaction? transaction, DsqlCommitMarkerOptions options, Guid id)
    {
        using var command = InsertCommand(connection, transaction, options, id);
        try
        {
            command.ExecuteNonQuery();
            return true;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return false;
        }
    }

    /// <inheritdoc cref="TryInsert"/>
    public static async Task<bool> TryInsertAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, DsqlCommitMarkerOptions options, Guid id, CancellationToken cancellationToken)
    {
        var command = InsertCommand(connection, transaction, options, id);
        await using (command.ConfigureAwait(false))
        {
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Whether the marker of a unit whose <c>COMMIT</c> failed with <paramref name="commitFailure"/> is in the table, read on
    /// a new connection from <paramref name="open"/>. Transient failures of the look-up are retried within
    /// <paramref name="retry"/>'s budget; when it cannot be read, the outcome stays unknown.
    /// </summary>
    /// <exception cref="DsqlCommitOutcomeUnknownException">The marker could not be looked up.</exception>
    public static bool Verify(Func<NpgsqlConnection> open, DsqlCommitMarkerOptions options, Guid id, DsqlRetryOptions retry, Exception commitFailure)
    {
        var clock = Stopwatch.StartNew();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var connection = open();
                using var command = LookupCommand(connection, options, id);
                return (bool)command.ExecuteScalar()!;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (!MayRetryLookup(ex, retry, attempt, clock.Elapsed))
                {
                    throw LookupFailed(commitFailure, ex);
                }
            }

            Thread.Sleep(retry.NextDelay(attempt));
        }
    }

    /// <inheritdoc cref="Verify"/>
    public static async Task<bool> VerifyAsync(
        Func<CancellationToken, ValueTask<NpgsqlConnection>> open,
        DsqlCommitMarkerOptions options,
        Guid id,
        DsqlRetryOptions retry,
        Exception commitFailure,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var connection = await open(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    var command = LookupCommand(connection, options, id);
                    await using (command.ConfigureAwait(false))
                    {
                        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (!MayRetryLookup(ex, retry, attempt, clock.Elapsed))
                {
                    throw LookupFailed(commitFailure, ex);
                }
            }

            await Task.Delay(retry.NextDelay(attempt), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes one batch of expired markers in its own (autocommit) transaction; returns how many.</summary>
    public static async Task<int> DeleteExpiredBatchAsync(NpgsqlConnection connection, DsqlCommitMarkerOptions options, CancellationToken cancellationToken)
    {
        var command = new NpgsqlCommand(
            $"DELETE FROM {QualifiedName(options)} WHERE id IN (SELECT id FROM {QualifiedName(options)} WHERE created_at < now() - $1 LIMIT {DeleteBatchSize})",
            connection)
        {
            Parameters = { new() { Value = options.Retention, NpgsqlDbType = NpgsqlDbType.Interval } },
        };
        await using (command.ConfigureAwait(false))
        {
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool MayRetryLookup(Exception failure, DsqlRetryOptions retry, int attempt, TimeSpan elapsed)
        => DsqlFailureClassifier.Classify(failure) != DsqlFailure.Permanent && retry.MayRetry(attempt, elapsed);

    private static DsqlCommitOutcomeUnknownException LookupFailed(Exception commitFailure, Exception lookupFailure)
        => new(
            $"The connection failed while COMMIT was in flight ({DsqlFailureClassifier.Describe(commitFailure)}) and its commit marker could not be "
                + $"looked up ({DsqlFailureClassifier.Describe(lookupFailure)}): the transaction may or may not have been applied, so it was not "
                + "retried. Check whether its changes are present before running it again.",
            commitFailure);

    private static bool NeedsTable(NpgsqlConnection connection, DsqlCommitMarkerOptions options, out string key)
    {
        key = $"{connection.Host}:{connection.Port}/{connection.Database}/{QualifiedName(options)}";
        return options.CreateTable && !KnownTables.ContainsKey(key);
    }

    private static NpgsqlCommand CreateTableCommand(NpgsqlConnection connection, DsqlCommitMarkerOptions options)
        => new($"CREATE TABLE IF NOT EXISTS {QualifiedName(options)} (id uuid PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())", connection);

    private static NpgsqlCommand InsertCommand(NpgsqlConnection connection, NpgsqlTransaction? transaction, DsqlCommitMarkerOptions options, Guid id)
        => new($"INSERT INTO {QualifiedName(options)} (id) VALUES ($1)", connection, transaction) { Parameters = { new() { Value = id } } };

    private static NpgsqlCommand LookupCommand(NpgsqlConnection connection, DsqlCommitMarkerOptions options, Guid id)
        => new($"SELECT EXISTS (SELECT 1 FROM {QualifiedName(options)} WHERE id = $1)", connection) { Parameters = { new() { Value = id } } };

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

/// <summary>
/// The unit of work a retrying strategy is running, so the commit markers its transactions write keep the same ids on
/// every attempt: the n-th transaction of each attempt gets the n-th id. A late-landing lost <c>COMMIT</c> then collides
/// with its re-run instead of being applied twice.
/// </summary>
internal sealed class DsqlCommitMarkerUnit
{
    private static readonly AsyncLocal<DsqlCommitMarkerUnit?> CurrentUnit = new();

    private readonly Guid _id = Guid.NewGuid();
    private int _transactions;

    /// <summary>The unit running in this asynchronous flow, if any.</summary>
    public static DsqlCommitMarkerUnit? Current => CurrentUnit.Value;

    /// <summary>Makes a new unit current; returns the one to restore.</summary>
    public static DsqlCommitMarkerUnit? Begin()
    {
        var previous = CurrentUnit.Value;
        CurrentUnit.Value = new DsqlCommitMarkerUnit();
        return previous;
    }

    /// <summary>Restores the unit that was current before <see cref="Begin"/>.</summary>
    public static void End(DsqlCommitMarkerUnit? previous) => CurrentUnit.Value = previous;

    /// <summary>Called when an attempt starts: its first transaction gets the first id again.</summary>
    public void StartAttempt() => _transactions = 0;

    /// <summary>The marker id of the next transaction of this attempt.</summary>
    public Guid NextMarkerId() => MarkerId(_id, Interlocked.Increment(ref _transactions) - 1);

    /// <summary>The marker id of transaction <paramref name="ordinal"/> of unit <paramref name="unit"/>.</summary>
    public static Guid MarkerId(Guid unit, int ordinal)
    {
        Span<byte> bytes = stackalloc byte[16];
        unit.TryWriteBytes(bytes);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(
            bytes, System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(bytes) ^ ordinal);
        return new Guid(bytes);
    }
}
