using System.Data;
using System.Globalization;
using EFCore.Dsql.FunctionalTests.Infrastructure;
using Npgsql;

namespace EFCore.Dsql.FunctionalTests.Local;

/// <summary>
/// Two (or three) sessions interleaving statements on one table, each scenario a case from Hermitage's Aurora DSQL
/// tests (marcbrooker/hermitage, <c>dsql.md</c>) or AWS's "Concurrency control in Aurora DSQL", and each step's answer
/// what DSQL answers: conflicts in commit order, never a lock wait. Scenarios marked <c>changed</c> failed on the
/// emulator before it decided conflicts at COMMIT (later writer lost, snapshot at the first statement).
/// </summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class OccScenarioTests(DsqlLocalFixture fixture, OccScenarioTests.Tally tally) : IClassFixture<OccScenarioTests.Tally>
{
    /// <summary>Counts the scenarios that ended as on DSQL and writes <c>occ scenarios: N/M</c> when the class is done.</summary>
    public sealed class Tally : IDisposable
    {
        private int _passed;

        public void Passed() => Interlocked.Increment(ref _passed);

        public void Dispose()
        {
            var line = $"occ scenarios: {_passed}/{All.Count} end as on Aurora DSQL (two or three raw Npgsql sessions on Dsql.Local, "
                       + "explicit BEGIN/COMMIT by the extended protocol, NpgsqlTransaction BEGIN/COMMIT by the simple protocol; "
                       + "sources: Hermitage dsql.md, AWS concurrency-control guide)";
            Console.WriteLine(line);
            TestSummary.Write("occ-scenarios", line);
        }
    }

    /// <summary>One step: which session runs what, and what it must answer.</summary>
    /// <param name="Session">1, 2 or 3.</param>
    /// <param name="Sql">
    /// The statement (<c>t</c> is the scenario's table), or <c>tx.begin</c>/<c>tx.commit</c>/<c>tx.rollback</c> for the
    /// NpgsqlTransaction API (simple-protocol BEGIN, sent with the session's next statement, and COMMIT).
    /// </param>
    /// <param name="Expect"><c>ok</c>, <c>OC000</c>, <c>OC001</c>, <c>count N</c> (rows affected) or <c>rows id:value …</c> (<c>rows -</c> for none).</param>
    public sealed record Step(int Session, string Sql, string Expect);

    /// <summary>A scenario: its steps and the table's rows afterwards.</summary>
    public sealed record Scenario(string Name, string Source, bool Changed, Step[] Steps, string Final)
    {
        public override string ToString() => Name;
    }

    private static Step S(int session, string sql, string expect = "ok") => new(session, sql, expect);

    public static readonly IReadOnlyList<Scenario> All =
    [
        new("G0 write cycles: the first committer wins, the other fails at COMMIT", "Hermitage dsql.md G0", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(1, "UPDATE t SET value = 21 WHERE id = 2", "count 1"),
            S(1, "COMMIT"),
            S(1, "SELECT id, value FROM t ORDER BY id", "rows 1:11 2:21"),
            S(2, "UPDATE t SET value = 22 WHERE id = 2", "count 1"),
            S(2, "COMMIT", "OC000"),
        ], "1:11 2:21"),
        new("G1a aborted reads are never seen", "Hermitage dsql.md G1a", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "UPDATE t SET value = 101 WHERE id = 1", "count 1"),
            S(2, "SELECT id, value FROM t ORDER BY id", "rows 1:10 2:20"),
            S(1, "ROLLBACK"),
            S(2, "SELECT id, value FROM t ORDER BY id", "rows 1:10 2:20"),
            S(2, "COMMIT"),
        ], "1:10 2:20"),
        new("G1b intermediate reads are never seen", "Hermitage dsql.md G1b", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "UPDATE t SET value = 101 WHERE id = 1", "count 1"),
            S(2, "SELECT id, value FROM t ORDER BY id", "rows 1:10 2:20"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(1, "COMMIT"),
            S(2, "SELECT id, value FROM t ORDER BY id", "rows 1:10 2:20"),
            S(2, "COMMIT"),
        ], "1:11 2:20"),
        new("G1c circular information flow: each sees the other's row unchanged, both commit", "Hermitage dsql.md G1c", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(2, "UPDATE t SET value = 22 WHERE id = 2", "count 1"),
            S(1, "SELECT id, value FROM t WHERE id = 2", "rows 2:20"),
            S(2, "SELECT id, value FROM t WHERE id = 1", "rows 1:10"),
            S(1, "COMMIT"), S(2, "COMMIT"),
        ], "1:11 2:22"),
        new("OTV: a third transaction never sees the loser's writes", "Hermitage dsql.md OTV", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(1, "UPDATE t SET value = 19 WHERE id = 2", "count 1"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(1, "COMMIT"),
            S(3, "BEGIN"),
            S(3, "SELECT id, value FROM t WHERE id = 1", "rows 1:11"),
            S(2, "UPDATE t SET value = 18 WHERE id = 2", "count 1"),
            S(3, "SELECT id, value FROM t WHERE id = 2", "rows 2:19"),
            S(2, "COMMIT", "OC000"),
            S(3, "SELECT id, value FROM t ORDER BY id", "rows 1:11 2:19"),
            S(3, "COMMIT"),
        ], "1:11 2:19"),
        new("PMP: a predicate read does not see a row committed after the snapshot", "Hermitage dsql.md PMP", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "SELECT id, value FROM t WHERE value = 30", "rows -"),
            S(2, "INSERT INTO t (id, value) VALUES (3, 30)", "count 1"),
            S(2, "COMMIT"),
            S(1, "SELECT id, value FROM t WHERE value % 3 = 0", "rows -"),
            S(1, "COMMIT"),
        ], "1:10 2:20 3:30"),
        new("PMP write predicate: the delete that met the committed update's rows fails at COMMIT", "Hermitage dsql.md PMP (write predicates)", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "UPDATE t SET value = value + 10", "count 2"),
            S(2, "DELETE FROM t WHERE value = 20", "count 1"),
            S(1, "COMMIT"),
            S(2, "COMMIT", "OC000"),
        ], "1:20 2:30"),
        new("P4 lost update: the second committer fails", "Hermitage dsql.md P4", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "SELECT id, value FROM t WHERE id = 1", "rows 1:10"),
            S(2, "SELECT id, value FROM t WHERE id = 1", "rows 1:10"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(2, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(1, "COMMIT"),
            S(2, "COMMIT", "OC000"),
        ], "1:11 2:20"),
        new("G-single read skew: reads stay in the snapshot", "Hermitage dsql.md G-single", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "SELECT id, value FROM t WHERE id = 1", "rows 1:10"),
            S(2, "SELECT id, value FROM t ORDER BY id", "rows 1:10 2:20"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(2, "UPDATE t SET value = 18 WHERE id = 2", "count 1"),
            S(2, "COMMIT"),
            S(1, "SELECT id, value FROM t WHERE id = 2", "rows 2:20"),
            S(1, "COMMIT"),
        ], "1:12 2:18"),
        new("G-single with a predicate read: nothing of the later commit shows", "Hermitage dsql.md G-single (predicate dependencies)", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "SELECT id, value FROM t WHERE value % 5 = 0 ORDER BY id", "rows 1:10 2:20"),
            S(2, "UPDATE t SET value = 12 WHERE value = 10", "count 1"),
            S(2, "COMMIT"),
            S(1, "SELECT id, value FROM t WHERE value % 3 = 0", "rows -"),
            S(1, "COMMIT"),
        ], "1:12 2:20"),
        new("G-single with a write predicate: the delete of a row a later commit changed fails at COMMIT, not at once", "Hermitage dsql.md G-single (write predicate)", true,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "SELECT id, value FROM t WHERE id = 1", "rows 1:10"),
            S(2, "SELECT id, value FROM t ORDER BY id", "rows 1:10 2:20"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(2, "UPDATE t SET value = 18 WHERE id = 2", "count 1"),
            S(2, "COMMIT"),
            S(1, "DELETE FROM t WHERE value = 20", "count 1"),
            S(1, "COMMIT", "OC000"),
        ], "1:12 2:18"),
        new("G2-item write skew is allowed: both commit", "Hermitage dsql.md G2-item", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "SELECT id, value FROM t WHERE id IN (1, 2) ORDER BY id", "rows 1:10 2:20"),
            S(2, "SELECT id, value FROM t WHERE id IN (1, 2) ORDER BY id", "rows 1:10 2:20"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(2, "UPDATE t SET value = 21 WHERE id = 2", "count 1"),
            S(1, "COMMIT"), S(2, "COMMIT"),
        ], "1:11 2:21"),
        new("G2-item with FOR UPDATE: the first committer wins, the other fails at COMMIT", "Hermitage dsql.md G2-item (for update)", true,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "SELECT id, value FROM t WHERE id = 2 FOR UPDATE", "rows 2:20"),
            S(2, "SELECT id, value FROM t WHERE id = 1 FOR UPDATE", "rows 1:10"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(2, "UPDATE t SET value = 21 WHERE id = 2", "count 1"),
            S(1, "COMMIT"),
            S(2, "COMMIT", "OC000"),
        ], "1:11 2:20"),
        new("G2 anti-dependency cycles are allowed: both inserts commit", "Hermitage dsql.md G2", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "SELECT id, value FROM t WHERE value % 3 = 0", "rows -"),
            S(2, "SELECT id, value FROM t WHERE value % 3 = 0", "rows -"),
            S(1, "INSERT INTO t (id, value) VALUES (3, 30)", "count 1"),
            S(2, "INSERT INTO t (id, value) VALUES (4, 42)", "count 1"),
            S(1, "COMMIT"), S(2, "COMMIT"),
        ], "1:10 2:20 3:30 4:42"),
        new("The later writer that commits first wins; the earlier writer fails at COMMIT", "AWS concurrency control (first committer wins)", true,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(2, "COMMIT"),
            S(1, "COMMIT", "OC000"),
        ], "1:12 2:20"),
        new("The later writer that commits first wins, by the simple protocol (NpgsqlTransaction)", "AWS concurrency control (first committer wins)", true,
        [
            S(1, "tx.begin"), S(2, "tx.begin"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(2, "tx.commit"),
            S(1, "tx.commit", "OC000"),
        ], "1:12 2:20"),
        new("An autocommit write commits at once; the open transaction holding the row fails at COMMIT", "AWS concurrency control (autocommit commits first)", true,
        [
            S(1, "BEGIN"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(2, "SELECT id, value FROM t WHERE id = 1", "rows 1:12"),
            S(1, "COMMIT", "OC000"),
        ], "1:12 2:20"),
        new("An autocommit insert of a key an open transaction inserted commits; that transaction fails at COMMIT", "AWS concurrency control (autocommit commits first)", true,
        [
            S(1, "BEGIN"),
            S(1, "INSERT INTO t (id, value) VALUES (3, 31)", "count 1"),
            S(2, "INSERT INTO t (id, value) VALUES (3, 32)", "count 1"),
            S(1, "COMMIT", "OC000"),
        ], "1:10 2:20 3:32"),
        new("A row read FOR UPDATE joins the conflict set: the locker commits first, the open writer fails", "AWS concurrency control (SELECT … FOR UPDATE)", true,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(1, "SELECT id, value FROM t WHERE id = 1 FOR UPDATE", "rows 1:10"),
            S(1, "UPDATE t SET value = 21 WHERE id = 2", "count 1"),
            S(1, "COMMIT"),
            S(2, "COMMIT", "OC000"),
        ], "1:10 2:21"),
        new("A row read FOR UPDATE: the writer commits first, the locker fails at COMMIT", "AWS concurrency control (SELECT … FOR UPDATE)", true,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "SELECT id, value FROM t WHERE id = 1 FOR UPDATE", "rows 1:10"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(2, "COMMIT"),
            S(1, "UPDATE t SET value = 21 WHERE id = 2", "count 1"),
            S(1, "COMMIT", "OC000"),
        ], "1:12 2:20"),
        new("DDL commits over an open writer of its table; the writer fails at COMMIT with OC001", "AWS DDL guide (OC001)", true,
        [
            S(1, "BEGIN"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(2, "ALTER TABLE t ADD COLUMN note text"),
            S(1, "COMMIT", "OC001"),
        ], "1:10 2:20"),
        new("DDL commits over an open reader of its table that writes afterwards; it fails at COMMIT with OC001", "AWS DDL guide (OC001)", true,
        [
            S(1, "BEGIN"),
            S(1, "SELECT id, value FROM t WHERE id = 1", "rows 1:10"),
            S(2, "ALTER TABLE t ADD COLUMN note text"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(1, "COMMIT", "OC001"),
        ], "1:10 2:20"),
        new("The snapshot is taken at BEGIN, not at the first statement", "AWS concurrency control (transaction snapshots)", true,
        [
            S(1, "BEGIN"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(1, "SELECT id, value FROM t WHERE id = 1", "rows 1:10"),
            S(1, "COMMIT"),
        ], "1:12 2:20"),
        new("A read-only transaction always commits, whatever committed meanwhile", "AWS concurrency control", false,
        [
            S(1, "BEGIN"),
            S(1, "SELECT id, value FROM t ORDER BY id", "rows 1:10 2:20"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(2, "DELETE FROM t WHERE id = 2", "count 1"),
            S(1, "SELECT id, value FROM t ORDER BY id", "rows 1:10 2:20"),
            S(1, "COMMIT"),
        ], "1:12"),
        new("Insert-insert of one key: the first committer wins", "AWS concurrency control (OC000)", false,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "INSERT INTO t (id, value) VALUES (3, 31)", "count 1"),
            S(2, "INSERT INTO t (id, value) VALUES (3, 32)", "count 1"),
            S(1, "COMMIT"),
            S(2, "COMMIT", "OC000"),
        ], "1:10 2:20 3:31"),
        new("Insert-insert of one key: the later inserter that commits first wins", "AWS concurrency control (OC000)", true,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "INSERT INTO t (id, value) VALUES (3, 31)", "count 1"),
            S(2, "INSERT INTO t (id, value) VALUES (3, 32)", "count 1"),
            S(2, "COMMIT"),
            S(1, "COMMIT", "OC000"),
        ], "1:10 2:20 3:32"),
        new("Delete-update: the updater that commits first wins over the open deleter", "AWS concurrency control (OC000)", true,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "DELETE FROM t WHERE id = 1", "count 1"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(2, "COMMIT"),
            S(1, "COMMIT", "OC000"),
        ], "1:12 2:20"),
        new("A transaction whose write met an open holder still reads its own earlier writes", "AWS concurrency control (writes buffered until COMMIT)", true,
        [
            S(1, "BEGIN"), S(2, "BEGIN"),
            S(1, "UPDATE t SET value = 21 WHERE id = 2", "count 1"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(1, "SELECT id, value FROM t WHERE id = 2", "rows 2:21"),
            S(1, "COMMIT"),
            S(2, "COMMIT", "OC000"),
        ], "1:11 2:21"),
        new("A transaction that lost to an earlier commit keeps its snapshot until it ends", "Hermitage dsql.md (snapshot isolation)", true,
        [
            S(1, "BEGIN"),
            S(2, "UPDATE t SET value = 12 WHERE id = 1", "count 1"),
            S(1, "UPDATE t SET value = 11 WHERE id = 1", "count 1"),
            S(2, "UPDATE t SET value = 22 WHERE id = 2", "count 1"),
            S(1, "SELECT id, value FROM t WHERE id = 2", "rows 2:20"),
            S(1, "COMMIT", "OC000"),
        ], "1:12 2:22"),
    ];

    public static TheoryData<int> Indexes()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < All.Count; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Fact]
    public void At_least_twenty_scenarios_of_which_most_cover_a_changed_behaviour()
    {
        Assert.True(All.Count >= 20);
        Assert.Equal(15, All.Count(s => s.Changed));
        Assert.Equal(All.Count, All.Select(s => s.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Indexes))]
    public async Task Scenario_ends_as_on_Aurora_DSQL(int index)
    {
        var scenario = All[index];
        var table = $"occ_scenario_{index}";
        await fixture.ExecuteOnBackendAsync(
            $"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id int PRIMARY KEY, value int); INSERT INTO {table} (id, value) VALUES (1, 10), (2, 20)");
        var sessions = new Dictionary<int, NpgsqlConnection>();
        var transactions = new Dictionary<int, NpgsqlTransaction>();
        try
        {
            var step = 0;
            foreach (var (session, sql, expect) in scenario.Steps)
            {
                step++;
                if (!sessions.TryGetValue(session, out var connection))
                {
                    connection = sessions[session] = await fixture.OpenConnectionAsync();
                }

                var answer = await RunAsync(connection, session, transactions, sql.Replace(" t ", $" {table} ", StringComparison.Ordinal).Replace(" t;", $" {table};", StringComparison.Ordinal));
                Assert.True(Matches(answer, expect), $"{scenario.Name}, step {step} (session {session}: {sql}): expected {expect}, got {answer}");
            }

            await using var check = await fixture.OpenConnectionAsync();
            Assert.Equal(scenario.Final, Rows(await ReadAsync(check, $"SELECT id, value FROM {table} ORDER BY id")));
            tally.Passed();
        }
        finally
        {
            foreach (var connection in sessions.Values)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private static async Task<string> RunAsync(NpgsqlConnection connection, int session, Dictionary<int, NpgsqlTransaction> transactions, string sql)
    {
        try
        {
            switch (sql)
            {
                case "tx.begin":
                    transactions[session] = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead);
                    return "ok";
                case "tx.commit":
                    await using (var transaction = transactions[session])
                    {
                        transactions.Remove(session);
                        await transaction.CommitAsync();
                    }

                    return "ok";
            }

            if (sql.StartsWith("SELECT", StringComparison.Ordinal))
            {
                return "rows " + Rows(await ReadAsync(connection, sql));
            }

            await using var command = new NpgsqlCommand(sql, connection);
            var count = await command.ExecuteNonQueryAsync();
            return sql.StartsWith("INSERT", StringComparison.Ordinal) || sql.StartsWith("UPDATE", StringComparison.Ordinal) || sql.StartsWith("DELETE", StringComparison.Ordinal)
                ? $"count {count.ToString(CultureInfo.InvariantCulture)}"
                : "ok";
        }
        catch (PostgresException e)
        {
            if (transactions.Remove(session, out var failed))
            {
                await failed.DisposeAsync();
            }

            return $"{e.SqlState} {e.MessageText}";
        }
    }

    private static bool Matches(string answer, string expect) => expect switch
    {
        "OC000" or "OC001" => answer.StartsWith("40001 ", StringComparison.Ordinal) && answer.EndsWith($"({expect})", StringComparison.Ordinal),
        _ => answer == expect,
    };

    private static async Task<List<(int Id, int Value)>> ReadAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(int, int)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetInt32(0), reader.GetInt32(1)));
        }

        return rows;
    }

    private static string Rows(List<(int Id, int Value)> rows)
        => rows.Count == 0 ? "-" : string.Join(' ', rows.Select(r => $"{r.Id.ToString(CultureInfo.InvariantCulture)}:{r.Value.ToString(CultureInfo.InvariantCulture)}"));
}
