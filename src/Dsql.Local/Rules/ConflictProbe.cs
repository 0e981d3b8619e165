using System.Globalization;
using Dsql.Local.Sql;

namespace Dsql.Local.Rules;

/// <summary>
/// When a write meets a row another open transaction holds, DSQL lets it proceed and fails the later committer; the
/// emulator instead abandons the backend transaction and answers the statement from a read-only probe: the row count
/// (or, for a locking SELECT, the rows) the statement would have produced in its snapshot.
/// </summary>
/// <param name="Sql">The probe: a <c>SELECT count(*)</c>, or the SELECT without its locking clause.</param>
/// <param name="TagPrefix">The command tag before the count: <c>UPDATE</c>, <c>DELETE</c>, <c>INSERT 0</c> or <c>SELECT</c>.</param>
/// <param name="ReturnsRows">The probe's rows are the statement's own result (a locking SELECT); else it returns one count.</param>
internal sealed record ConflictProbe(string Sql, string TagPrefix, bool ReturnsRows)
{
    /// <summary>
    /// A query (with the statement's parameters) for the backend processes whose open transactions hold the rows the
    /// statement targets in its snapshot (their <c>xmax</c> is a running transaction); null when the emulator cannot tell
    /// (an INSERT's key, a join): then every open transaction that wrote the table counts as a holder.
    /// </summary>
    public string? HolderSql { get; init; }

    /// <summary>The backend processes holding a lock on one of <paramref name="tables"/> (what a schema change waits on).</summary>
    public static string RelationHoldersSql(IEnumerable<string> tables)
    {
        var names = string.Join(", ", tables.Select(t => "'" + t.Replace("'", "''", StringComparison.Ordinal) + "'"));
        return "SELECT DISTINCT l.pid FROM pg_catalog.pg_locks l WHERE l.locktype = 'relation' AND l.granted AND l.pid <> pg_backend_pid()"
               + $" AND l.relation IN (SELECT to_regclass(n) FROM unnest(ARRAY[{names}]::text[]) AS n)";
    }

    private static string RowHoldersSql(string alias, string from)
        => "SELECT DISTINCT l.pid FROM pg_catalog.pg_locks l WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted"
           + $" AND l.pid <> pg_backend_pid() AND l.transactionid::text IN (SELECT {alias}.xmax::text FROM {from})";

    /// <summary>Abandons the backend transaction that met the held row and opens a fresh one in its place.</summary>
    public const string RestartTransactionSql = "ROLLBACK; BEGIN ISOLATION LEVEL REPEATABLE READ";

    /// <summary>Builds the probe for a DML or locking SELECT statement, or returns null when the shape is not understood.</summary>
    public static ConflictProbe? For(SqlStatement statement)
    {
        var t = statement.Tokens;
        var text = statement.Text;
        string Slice(int from, int to) => from >= to ? "" : text[t[from].Start..t[to - 1].End];

        switch (t.WordAt(0))
        {
            case "update":
            {
                var set = t.IndexOfTopLevelWord("set");
                if (set < 2)
                {
                    return null;
                }

                var from = t.IndexOfTopLevelWord("from", set);
                var where = t.IndexOfTopLevelWord("where", set);
                var returning = t.IndexOfTopLevelWord("returning", set);
                if (where >= 0 && t.WordAt(where + 1) == "current")
                {
                    return null;
                }

                var end = returning >= 0 ? returning : t.Count;
                var target = Slice(t.WordAt(1) == "only" ? 2 : 1, set);
                var fromList = from >= 0 ? ", " + Slice(from + 1, where >= 0 ? where : end) : "";
                var condition = where >= 0 ? " WHERE " + Slice(where + 1, end) : "";
                return new ConflictProbe($"SELECT count(*) FROM {target}{fromList}{condition}", "UPDATE", false)
                {
                    HolderSql = RowHoldersSql(Slice(set - 1, set), $"{target}{fromList}{condition}"),
                };
            }

            case "delete":
            {
                if (t.WordAt(1) != "from")
                {
                    return null;
                }

                var start = t.WordAt(2) == "only" ? 3 : 2;
                var usingIndex = t.IndexOfTopLevelWord("using", start);
                var where = t.IndexOfTopLevelWord("where", start);
                var returning = t.IndexOfTopLevelWord("returning", start);
                if (where >= 0 && t.WordAt(where + 1) == "current")
                {
                    return null;
                }

                var end = returning >= 0 ? returning : t.Count;
                var targetEnd = usingIndex >= 0 ? usingIndex : where >= 0 ? where : end;
                var usingList = usingIndex >= 0 ? ", " + Slice(usingIndex + 1, where >= 0 ? where : end) : "";
                var condition = where >= 0 ? " WHERE " + Slice(where + 1, end) : "";
                var deleteFrom = $"{Slice(start, targetEnd)}{usingList}{condition}";
                return new ConflictProbe($"SELECT count(*) FROM {deleteFrom}", "DELETE", false)
                {
                    HolderSql = targetEnd > start ? RowHoldersSql(Slice(targetEnd - 1, targetEnd), deleteFrom) : null,
                };
            }

            case "insert":
            {
                var values = t.IndexOfTopLevelWord("values");
                if (t.IndexOfWords(0, "default", "values") >= 0)
                {
                    return new ConflictProbe("SELECT 1", "INSERT 0", false);
                }

                if (values >= 0)
                {
                    var onConflict = t.IndexOfTopLevelWord("on", values);
                    var returning = t.IndexOfTopLevelWord("returning", values);
                    var end = new[] { onConflict, returning, t.Count }.Where(i => i >= 0).Min();
                    var rows = t.SplitTopLevel(values + 1, end).Count;
                    return new ConflictProbe($"SELECT {rows.ToString(CultureInfo.InvariantCulture)}", "INSERT 0", false);
                }

                var select = t.IndexOfTopLevelWord("select");
                if (select < 0)
                {
                    return null;
                }

                var selectEnd = new[] { t.IndexOfTopLevelWord("on", select), t.IndexOfTopLevelWord("returning", select), t.Count }.Where(i => i >= 0).Min();
                return new ConflictProbe($"SELECT count(*) FROM ({Slice(select, selectEnd)}) AS dsql_local_probe", "INSERT 0", false);
            }

            case "select":
            {
                var lockClause = t.IndexOfTopLevelWord("for");
                if (lockClause < 0)
                {
                    return null;
                }

                return new ConflictProbe(Slice(0, lockClause), "SELECT", true) { HolderSql = LockedRowHolders(t, lockClause, Slice) };
            }

            default:
                return null;
        }
    }

    /// <summary>The holder query of a locking SELECT over one table (no join, no list); null otherwise.</summary>
    private static string? LockedRowHolders(List<SqlToken> t, int lockClause, Func<int, int, string> slice)
    {
        var from = t.IndexOfTopLevelWord("from");
        if (from < 0 || from > lockClause)
        {
            return null;
        }

        var end = new[] { "where", "group", "order", "limit", "offset", "window", "having" }
            .Select(w => t.IndexOfTopLevelWord(w, from))
            .Where(i => i >= 0 && i < lockClause)
            .DefaultIfEmpty(lockClause)
            .Min();
        var join = t.IndexOfTopLevelWord("join", from);
        if (end <= from + 1 || (join >= 0 && join < end) || t.SplitTopLevel(from + 1, end).Count > 1)
        {
            return null;
        }

        return RowHoldersSql(slice(end - 1, end), slice(from + 1, lockClause));
    }
}
