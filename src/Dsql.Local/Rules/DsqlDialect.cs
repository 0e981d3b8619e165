using Dsql.Local.Rules.Grammar;

namespace Dsql.Local.Rules;

/// <summary>
/// Aurora DSQL's dialect, read from tokens: which statements it refuses (with its SQLSTATEs and messages, as recorded
/// against a real cluster), how each statement counts for the transaction rules, and how DSQL-only syntax
/// (<c>CREATE INDEX ASYNC</c>, <c>ALTER TABLE ASYNC … VALIDATE CONSTRAINT</c>, version strings) maps onto the backend.
/// </summary>
internal sealed class DsqlDialect
{
    public const string ServerVersion = "16.15";
    public const string ServerVersionNum = "160015";

    private const string FeatureNotSupported = "0A000";

    private static readonly HashSet<string> AllowedSettings = new(StringComparer.Ordinal)
    {
        "application_name", "client_encoding", "datestyle", "extra_float_digits", "intervalstyle", "timezone", "search_path",
    };

    private static readonly HashSet<string> UnsupportedRuntimeTypes = new(StringComparer.Ordinal)
    {
        "point", "line", "lseg", "box", "path", "polygon", "circle",
    };

    private static readonly HashSet<string> TextSearchFunctions = new(StringComparer.Ordinal)
    {
        "to_tsvector", "to_tsquery", "websearch_to_tsquery", "plainto_tsquery", "phraseto_tsquery", "ts_headline",
    };

    /// <summary>
    /// Whether DSQL lets a session set <paramref name="loweredName"/> (its documented session parameters, planner
    /// <c>enable_*</c> switches included); <c>role</c> is handled apart, as it changes the session's identity.
    /// </summary>
    public static bool IsSessionParameter(string loweredName)
        => AllowedSettings.Contains(loweredName) || loweredName.StartsWith("enable_", StringComparison.Ordinal);

    /// <summary>
    /// Whether statements the dialect lets through must also be derived by DSQL's grammar (<see cref="GrammarAdmission"/>).
    /// Always on in the emulator; off only to measure what admission costs (the proxy benchmark).
    /// </summary>
    internal bool CheckGrammar { get; init; } = true;

    /// <summary>Analyzes one statement.</summary>
    public StatementAnalysis Analyze(SqlStatement statement)
    {
        var t = statement.Tokens;
        if (t.Count == 0)
        {
            return new StatementAnalysis(StatementKind.Other, statement.Text);
        }

        var analysis = AnalyzeStatement(statement);
        if (analysis.Refusal is null && CheckGrammar && GrammarAdmission.Shared.Check(statement) is { } refusal)
        {
            // The dialect's own (recorded) refusals come first; what it lets through must still be DSQL's grammar.
            return analysis with { Refusal = refusal, BackendSql = "" };
        }

        return analysis;
    }

    private StatementAnalysis AnalyzeStatement(SqlStatement statement)
    {
        var t = statement.Tokens;
        var first = t.WordAt(0);
        return first switch
        {
            "begin" => AnalyzeBegin(statement, 1),
            "start" when t.WordAt(1) == "transaction" => AnalyzeBegin(statement, 2),
            "commit" or "end" => t.WordAt(1) == "prepared"
                ? Unsupported("unsupported statement: CommitPrepared")
                : new StatementAnalysis(StatementKind.Commit, statement.Text),
            "rollback" or "abort" => t.WordAt(1) == "prepared"
                ? Unsupported("unsupported statement: RollbackPrepared")
                : t.IndexOfWords(1, "to") >= 0
                    ? Unsupported("unsupported transaction statement: ROLLBACK TO")
                    : new StatementAnalysis(StatementKind.Rollback, statement.Text),
            "savepoint" => Unsupported("unsupported transaction statement: SAVEPOINT"),
            "release" => Unsupported("unsupported transaction statement: RELEASE"),
            "prepare" => Unsupported(t.WordAt(1) == "transaction" ? "unsupported statement: PrepareTransaction" : "unsupported statement: Prepare"),
            "deallocate" => AnalyzeDeallocate(t),
            "discard" => Unsupported("unsupported statement: Discard"),
            "set" => AnalyzeSet(statement),
            "copy" when CopiesAFile(t) => Unsupported("COPY to or from a file or program is not supported; use COPY … FROM STDIN or TO STDOUT"),
            "copy" when t.IndexOfTopLevelWord("from") > 0 => new StatementAnalysis(StatementKind.Dml, statement.Text) { IsCopy = true, Tables = t[1].IsName ? [t[1].Value] : [] },
            "show" => AnalyzeShow(statement),
            "truncate" => Unsupported("unsupported statement: Truncate", StatementKind.Dml),
            "vacuum" => Unsupported("unsupported VACUUM statement"),
            "listen" => Unsupported("unsupported statement: Listen"),
            "notify" => Unsupported("unsupported statement: Notify"),
            "unlisten" => Unsupported("unsupported statement: Unlisten"),
            "lock" => Unsupported("unsupported statement: Lock"),
            "do" => Unsupported("unsupported statement: Do"),
            "merge" => Unsupported("unsupported statement type: MERGE", StatementKind.Dml),
            "cluster" => Unsupported("unsupported statement: Cluster"),
            "reindex" => Unsupported("unsupported statement: Reindex"),
            "checkpoint" => Unsupported("unsupported statement: Checkpoint"),
            "load" => Unsupported("unsupported statement: Load"),
            "refresh" => Unsupported("unsupported statement: RefreshMatView"),
            "security" => Unsupported("unsupported statement: SecLabel"),
            "import" => Unsupported("unsupported statement: ImportForeignSchema"),
            "insert" or "update" or "delete" => AnalyzeQuery(statement, StatementKind.Dml),
            "select" or "with" or "values" or "table" or "explain" => AnalyzeQuery(statement, ContainsDml(t) ? StatementKind.Dml : StatementKind.Other),
            "create" => AnalyzeCreate(statement),
            "alter" => AnalyzeAlter(statement),
            "drop" => AnalyzeDrop(statement),
            "comment" or "grant" or "revoke" or "reassign" => new StatementAnalysis(StatementKind.Ddl, statement.Text),
            "aws" => RoleStatements.AwsIam(statement),
            _ => new StatementAnalysis(StatementKind.Other, statement.Text),
        };
    }

    /// <summary>
    /// DSQL's grammar takes <c>DEALLOCATE [PREPARE] ALL</c> (SQL-level <c>PREPARE</c> is refused, so there is nothing of the
    /// client's to release); on the backend it would also drop the emulator's own prepared row check, so it becomes the
    /// harmless <c>DISCARD PLANS</c> under DSQL's tag. <c>DEALLOCATE name</c> stays refused.
    /// </summary>
    private static StatementAnalysis AnalyzeDeallocate(List<SqlToken> t)
    {
        var all = t.WordAt(1) == "prepare" ? 2 : 1;
        return t.WordAt(all) == "all" && t.Count == all + 1
            ? new StatementAnalysis(StatementKind.Other, "DISCARD PLANS") { TagOverride = "DEALLOCATE ALL" }
            : Unsupported("unsupported statement: Deallocate");
    }

    /// <summary>COPY with a server-side file or program (only STDIN/STDOUT exist on DSQL).</summary>
    private static bool CopiesAFile(List<SqlToken> t)
    {
        for (var i = 1; i + 1 < t.Count; i++)
        {
            if (t[i].Kind == TokenKind.Word && t[i].Value is "from" or "to" && !t.SymbolAt(i - 1, "("))
            {
                return t[i + 1].Kind == TokenKind.String || t.WordAt(i + 1) == "program";
            }
        }

        return false;
    }

    private static StatementAnalysis Unsupported(string message, StatementKind kind = StatementKind.Other)
        => StatementAnalysis.Refuse(kind, FeatureNotSupported, message);

    private static bool ContainsDml(List<SqlToken> t)
    {
        if (t.WordAt(0) == "explain")
        {
            // EXPLAIN ANALYZE runs the statement; plain EXPLAIN does not.
            var analyze = t.WordAt(1) == "analyze" || t.IndexOfWords(1, "analyze", "true") >= 0 || (t.SymbolAt(1, "(") && t.IndexOfWords(1, "analyze") >= 0);
            if (!analyze)
            {
                return false;
            }
        }

        for (var i = 1; i < t.Count; i++)
        {
            if (t[i].Kind == TokenKind.Word && t[i].Value is "insert" or "update" or "delete" && !t.SymbolAt(i - 1, ".") && !t.SymbolAt(i + 1, "("))
            {
                // "FOR UPDATE" is a locking clause, not a write.
                if (t[i].Value == "update" && t.WordAt(i - 1) is "for" or "key" or "no")
                {
                    continue;
                }

                return true;
            }
        }

        return false;
    }

    private static StatementAnalysis AnalyzeBegin(SqlStatement statement, int start)
    {
        var t = statement.Tokens;
        var level = t.IndexOfWords(start, "isolation", "level");
        if (level >= 0)
        {
            var name = t.WordAt(level + 2) switch
            {
                "serializable" => "SERIALIZABLE",
                "read" when t.WordAt(level + 3) == "committed" => "READ COMMITTED",
                "read" when t.WordAt(level + 3) == "uncommitted" => "READ UNCOMMITTED",
                "snapshot" => "SNAPSHOT",
                _ => null,
            };
            if (name is not null)
            {
                return Unsupported($"Unsupported isolation level: {name}");
            }
        }

        return new StatementAnalysis(StatementKind.Begin, statement.Text);
    }

    private static StatementAnalysis AnalyzeSet(SqlStatement statement)
    {
        var t = statement.Tokens;
        var i = 1;
        if (t.WordAt(i) is "session" or "local" && t.WordAt(i + 1) is not ("authorization" or "characteristics") && !t.SymbolAt(i + 1, "=") && t.WordAt(i + 1) != "to")
        {
            i++;
        }

        if (t.WordAt(i) == "transaction" || (t.WordAt(i) == "session" && t.WordAt(i + 1) == "characteristics"))
        {
            var level = t.IndexOfWords(i, "isolation", "level");
            if (level >= 0 && t.WordAt(level + 2) == "serializable")
            {
                return Unsupported("Unsupported isolation level: SERIALIZABLE");
            }

            if (t.WordAt(i) == "session" && !(level >= 0 && t.WordAt(level + 2) == "read"))
            {
                // DSQL's grammar takes session characteristics in its one isolation level (REPEATABLE READ) and access modes.
                return new StatementAnalysis(StatementKind.Other, statement.Text);
            }

            return Unsupported(t.WordAt(i) == "transaction"
                ? "setting configuration parameter \"TRANSACTION\" not supported"
                : "setting configuration parameter \"SESSION CHARACTERISTICS\" not supported");
        }

        if (t.WordAt(i) == "constraints")
        {
            return new StatementAnalysis(StatementKind.Other, statement.Text);
        }

        if (t.WordAt(i) == "session" && t.WordAt(i + 1) == "authorization")
        {
            return Unsupported("setting configuration parameter \"session_authorization\" not supported");
        }

        if (i >= t.Count || !t[i].IsName)
        {
            return new StatementAnalysis(StatementKind.Other, statement.Text);
        }

        // A parameter name may be qualified (extension.setting).
        var name = new StringBuilder(t[i].Value);
        while (t.SymbolAt(i + 1, ".") && i + 2 < t.Count)
        {
            i += 2;
            name.Append('.').Append(t[i].Value);
        }

        var setting = name.ToString();
        var lowered = setting.ToLowerInvariant();
        // SET ROLE is the backend's to allow or refuse: the session is the client's own role, never a superuser.
        if (IsSessionParameter(lowered) || lowered is "names" or "time" or "role" || lowered.StartsWith("dsql.", StringComparison.Ordinal))
        {
            return new StatementAnalysis(StatementKind.Other, statement.Text);
        }

        return Unsupported($"setting configuration parameter \"{setting}\" not supported");
    }

    private static StatementAnalysis AnalyzeShow(SqlStatement statement)
    {
        var t = statement.Tokens;
        switch (t.WordAt(1))
        {
            case "server_version":
                return new StatementAnalysis(StatementKind.Other, $"SELECT '{ServerVersion}'::text AS server_version") { TagOverride = "SHOW" };
            case "server_version_num":
                return new StatementAnalysis(StatementKind.Other, $"SELECT '{ServerVersionNum}'::text AS server_version_num") { TagOverride = "SHOW" };
            case "lc_collate" or "lc_ctype":
                // PostgreSQL 16 (which DSQL reports) no longer has these settings.
                return StatementAnalysis.Refuse(StatementKind.Other, "42704", $"unrecognized configuration parameter \"{t.WordAt(1)}\"");
            default:
                return new StatementAnalysis(StatementKind.Other, statement.Text);
        }
    }

    private static StatementAnalysis AnalyzeQuery(SqlStatement statement, StatementKind kind)
    {
        var t = statement.Tokens;
        for (var i = 0; i < t.Count; i++)
        {
            var token = t[i];
            if (token.Kind != TokenKind.Word)
            {
                continue;
            }

            if (token.Value == "for")
            {
                var lockStrength = (t.WordAt(i + 1), t.WordAt(i + 2), t.WordAt(i + 3)) switch
                {
                    ("share", _, _) => "share",
                    ("no", "key", "update") => "no key update",
                    _ => null,
                };
                if (lockStrength is not null)
                {
                    return Unsupported("locking clauses other than FOR UPDATE/FOR KEY SHARE are not supported", kind);
                }
            }

            if (token.Value == "tablesample")
            {
                return Unsupported("TABLESAMPLE clause not supported", kind);
            }

            if (UnsupportedRuntimeTypes.Contains(token.Value) && (t.SymbolAt(i - 1, "::") || (t.SymbolAt(i + 1, "(") && !t.SymbolAt(i - 1, "."))))
            {
                return Unsupported($"datatype {token.Value} not supported", kind);
            }

            if (TextSearchFunctions.Contains(token.Value) && t.SymbolAt(i + 1, "(") && i + 3 < t.Count
                && t[i + 2].Kind == TokenKind.String && t.SymbolAt(i + 3, ","))
            {
                return StatementAnalysis.Refuse(kind, "42704", $"text search configuration \"{t[i + 2].Value}\" does not exist");
            }
        }

        if (LeftLateralOuterReference(t) is { } innerTable)
        {
            return StatementAnalysis.Refuse(kind, "42804", $"attribute 1 of type {innerTable} has wrong type");
        }

        if (t.WordAt(0) == "select" && t.IndexOfTopLevelWord("into") is var into and > 0 && t.WordAt(into - 1) != "insert")
        {
            return Unsupported("unsupported statement: CreateTableAs", StatementKind.Ddl);
        }

        var locks = t.WordAt(0) == "select" && t.IndexOfTopLevelWord("for") >= 0;
        return new StatementAnalysis(kind, RewriteFunctions(statement))
        {
            Tables = kind == StatementKind.Dml ? TargetTables(t) : [],
            Probe = kind == StatementKind.Dml || locks ? ConflictProbe.For(statement) : null,
            InjectsConflict = t.IndexOfWords(0, "dsql_local") is var q and >= 0 && t.SymbolAt(q + 1, ".") && t.WordAt(q + 2) == "inject_conflict",
        };
    }

    /// <summary>
    /// DSQL (as recorded) fails a <c>LEFT JOIN LATERAL (SELECT … FROM t …)</c> whose select list refers to the outer query,
    /// with "attribute 1 of type t has wrong type"; CROSS and INNER lateral joins work. Returns t when the shape matches.
    /// </summary>
    private static string? LeftLateralOuterReference(List<SqlToken> t)
    {
        for (var i = 0; i + 4 < t.Count; i++)
        {
            if (!(t[i].IsWord("left") && (t.WordAt(i + 1) == "join" || (t.WordAt(i + 1) == "outer" && t.WordAt(i + 2) == "join"))))
            {
                continue;
            }

            var lateral = t.WordAt(i + 1) == "join" ? i + 2 : i + 3;
            if (t.WordAt(lateral) != "lateral" || !t.SymbolAt(lateral + 1, "(") || t.WordAt(lateral + 2) != "select")
            {
                continue;
            }

            var close = t.SkipParentheses(lateral + 1) - 1;
            var from = t.IndexOfTopLevelWord("from", lateral + 3);
            if (from < 0 || from >= close || from + 1 >= close || !t[from + 1].IsName)
            {
                continue;
            }

            var inner = t[from + 1].Value;
            var innerAlias = t.WordAt(from + 2) == "as" ? t.WordAt(from + 3) : t[from + 2].IsName ? t[from + 2].Value : inner;
            for (var k = lateral + 3; k + 1 < from; k++)
            {
                if (t[k].IsName && t.SymbolAt(k + 1, ".") && t[k].Value != inner && t[k].Value != innerAlias)
                {
                    return inner;
                }
            }
        }

        return null;
    }

    /// <summary>The tables a DML statement writes (INSERT INTO x, UPDATE x, DELETE FROM x), unqualified and lower-case.</summary>
    private static List<string> TargetTables(List<SqlToken> t)
    {
        var tables = new List<string>();
        for (var i = 0; i + 1 < t.Count; i++)
        {
            var index = (t.WordAt(i), t.WordAt(i - 1)) switch
            {
                ("into", "insert") => i + 1,
                ("update", not ("for" or "key" or "no" or "do")) when !t.SymbolAt(i - 1, ".") => i + 1,
                ("from", "delete") => i + 1,
                _ => -1,
            };
            if (index < 0)
            {
                continue;
            }

            if (t.WordAt(index) == "only")
            {
                index++;
            }

            if (index < t.Count && t[index].IsName)
            {
                var name = t[index].Value;
                if (t.SymbolAt(index + 1, ".") && index + 2 < t.Count && t[index + 2].IsName)
                {
                    name = t[index + 2].Value;
                }

                tables.Add(name);
            }
        }

        return tables;
    }

    /// <summary>Points <c>version()</c> and <c>current_setting()</c> at the emulator's DSQL-flavoured versions.</summary>
    private static string RewriteFunctions(SqlStatement statement)
    {
        var t = statement.Tokens;
        StringBuilder? rewritten = null;
        var copied = 0;
        for (var i = 0; i + 1 < t.Count; i++)
        {
            if (t[i].Kind == TokenKind.Word && t[i].Value is "version" or "current_setting" && t.SymbolAt(i + 1, "(") && !t.SymbolAt(i - 1, ".")
                && !(t[i].Value == "version" && !t.SymbolAt(i + 2, ")")))
            {
                rewritten ??= new StringBuilder(statement.Text.Length + 32);
                rewritten.Append(statement.Text, copied, t[i].Start - copied).Append("dsql_local.").Append(t[i].Value);
                copied = t[i].End;
            }
        }

        return rewritten is null ? statement.Text : rewritten.Append(statement.Text, copied, statement.Text.Length - copied).ToString();
    }

    private static StatementAnalysis AnalyzeCreate(SqlStatement statement)
    {
        var t = statement.Tokens;
        var i = 1;
        if (t.WordAt(i) == "or" && t.WordAt(i + 1) == "replace")
        {
            i += 2;
        }

        bool temporary = false, unlogged = false, unique = false;
        while (t.WordAt(i) is "global" or "local" or "temp" or "temporary" or "unlogged" or "unique" or "trusted" or "procedural" or "constraint" or "recursive")
        {
            temporary |= t.WordAt(i) is "temp" or "temporary";
            unlogged |= t.WordAt(i) == "unlogged";
            unique |= t.WordAt(i) == "unique";
            if (t.WordAt(i) == "constraint")
            {
                return Unsupported("CREATE TRIGGER not supported", StatementKind.Ddl);
            }

            i++;
        }

        var ddl = new StatementAnalysis(StatementKind.Ddl, statement.Text);
        return t.WordAt(i) switch
        {
            "table" when temporary => Unsupported("TEMPORARY or TEMP table not supported for CREATE TABLE", StatementKind.Ddl),
            "table" when unlogged => Unsupported("UNLOGGED table not supported for CREATE TABLE", StatementKind.Ddl),
            "table" => AnalyzeCreateTable(statement, i + 1) ?? ddl,
            "materialized" => Unsupported("unsupported statement: CreateTableAs", StatementKind.Ddl),
            "index" => AnalyzeCreateIndex(statement, i + 1, unique),
            "sequence" => CheckSequenceCache(t, i + 1, isIdentity: false) ?? ddl,
            "extension" => Unsupported("unsupported statement: CreateExtension", StatementKind.Ddl),
            "trigger" => Unsupported("CREATE TRIGGER not supported", StatementKind.Ddl),
            "event" => Unsupported("unsupported statement: CreateEventTrig", StatementKind.Ddl),
            "database" => Unsupported("unsupported statement: Createdb", StatementKind.Ddl),
            "type" => t.WordAt(i + 2) == "as" && t.SymbolAt(i + 3, "(") ? Unsupported("unsupported statement: CompositeType", StatementKind.Ddl)
                : t.WordAt(i + 2) == "as" && t.WordAt(i + 3) == "range" ? Unsupported("unsupported statement: CreateRange", StatementKind.Ddl)
                : Unsupported("CREATE TYPE not supported", StatementKind.Ddl),
            "tablespace" => Unsupported("unsupported statement: CreateTableSpace", StatementKind.Ddl),
            "foreign" => Unsupported(t.WordAt(i + 1) == "table" ? "unsupported statement: CreateForeignTable" : "unsupported statement: CreateFdw", StatementKind.Ddl),
            "server" => Unsupported("unsupported statement: CreateForeignServer", StatementKind.Ddl),
            "user" when t.WordAt(i + 1) == "mapping" => Unsupported("unsupported statement: CreateUserMapping", StatementKind.Ddl),
            "role" or "user" => RoleStatements.Create(statement, i + 1, user: t.WordAt(i) == "user"),
            "rule" => Unsupported("unsupported statement: Rule", StatementKind.Ddl),
            "aggregate" or "operator" or "collation" or "text" => Unsupported("unsupported statement: Define", StatementKind.Ddl),
            "cast" => Unsupported("unsupported statement: CreateCast", StatementKind.Ddl),
            "language" => Unsupported("unsupported statement: CreatePLang", StatementKind.Ddl),
            "publication" => Unsupported("unsupported statement: CreatePublication", StatementKind.Ddl),
            "subscription" => Unsupported("unsupported statement: CreateSubscription", StatementKind.Ddl),
            "function" or "procedure" => CheckRoutineLanguage(t, i) ?? ddl,
            _ => ddl,
        };
    }

    // DSQL runs functions and procedures written in SQL only.
    private static StatementAnalysis? CheckRoutineLanguage(List<SqlToken> t, int i)
    {
        var language = t.IndexOfTopLevelWord("language", i + 1);
        if (language > 0 && language + 1 < t.Count)
        {
            var name = t[language + 1].Value.ToLowerInvariant();
            if (name != "sql")
            {
                return Unsupported($"CREATE {t.WordAt(i).ToUpperInvariant()} with language {name} not supported", StatementKind.Ddl);
            }
        }

        return null;
    }

    private static StatementAnalysis? AnalyzeCreateTable(SqlStatement statement, int i)
    {
        var t = statement.Tokens;
        if (t.WordAt(i) == "if" && t.WordAt(i + 1) == "not" && t.WordAt(i + 2) == "exists")
        {
            i += 3;
        }

        // Skip the (possibly qualified) table name.
        i++;
        while (t.SymbolAt(i, "."))
        {
            i += 2;
        }

        if (t.WordAt(i) == "as" || (t.SymbolAt(i, "(") && t.WordAt(t.SkipParentheses(i)) == "as"))
        {
            return Unsupported("unsupported statement: CreateTableAs", StatementKind.Ddl);
        }

        if (t.WordAt(i) == "partition" && t.WordAt(i + 1) == "of")
        {
            return Unsupported("PARTITION OF not supported for CREATE TABLE", StatementKind.Ddl);
        }

        if (!t.SymbolAt(i, "("))
        {
            return null;
        }

        var close = t.SkipParentheses(i);
        if (t.WordAt(close) == "inherits")
        {
            return Unsupported("INHERITS not supported for CREATE TABLE", StatementKind.Ddl);
        }

        if (t.WordAt(close) == "partition" && t.WordAt(close + 1) == "by")
        {
            return Unsupported("PARTITION BY not supported for CREATE TABLE", StatementKind.Ddl);
        }

        foreach (var (start, end) in t.SplitTopLevel(i + 1, close - 1))
        {
            if (t.WordAt(start) is "constraint" or "primary" or "unique" or "check" or "foreign" or "exclude" or "like" || start >= end)
            {
                continue;
            }

            if (CheckColumn(t, start, end, addColumn: false) is { } refusal)
            {
                return refusal;
            }
        }

        return null;
    }

    private static readonly HashSet<string> ColumnConstraintWords = new(StringComparer.Ordinal)
    {
        "not", "null", "default", "primary", "unique", "check", "references", "generated", "constraint", "collate", "storage", "compression",
        "deferrable", "initially",
    };

    /// <summary>Checks one column definition (name, type, constraints) in CREATE TABLE or ALTER TABLE ADD COLUMN.</summary>
    private static StatementAnalysis? CheckColumn(List<SqlToken> t, int start, int end, bool addColumn)
    {
        var typeStart = start + 1;
        var typeEnd = typeStart;
        while (typeEnd < end && !(t[typeEnd].Kind == TokenKind.Word && ColumnConstraintWords.Contains(t[typeEnd].Value)))
        {
            typeEnd = t.SymbolAt(typeEnd, "(") ? t.SkipParentheses(typeEnd) : typeEnd + 1;
        }

        if (typeStart >= typeEnd)
        {
            return null;
        }

        var isArray = false;
        var words = new List<string>();
        for (var k = typeStart; k < typeEnd; k++)
        {
            if (t[k].IsSymbol("[") || t[k].IsWord("array"))
            {
                isArray = true;
            }
            else if (t[k].IsSymbol("("))
            {
                k = t.SkipParentheses(k) - 1;
            }
            else if (t[k].IsName && !t.SymbolAt(k + 1, "."))
            {
                words.Add(t[k].Value);
            }
        }

        var typeName = CanonicalTypeName(words);
        if (typeName is "serial" or "bigserial" or "smallserial" or "serial2" or "serial4" or "serial8")
        {
            return StatementAnalysis.Refuse(StatementKind.Ddl, "42704", $"type \"{words[0]}\" does not exist");
        }

        if (isArray)
        {
            return Unsupported($"datatype {typeName}[] not supported", StatementKind.Ddl);
        }

        if (IsUnsupportedColumnType(typeName))
        {
            return Unsupported($"datatype {typeName} not supported", StatementKind.Ddl);
        }

        if (typeEnd >= end)
        {
            return null;
        }

        if (addColumn)
        {
            // Only STORAGE / COMPRESSION / COLLATE may follow the type in ALTER TABLE … ADD COLUMN on DSQL.
            if (t.WordAt(typeEnd) is not ("storage" or "compression" or "collate"))
            {
                return Unsupported("ALTER TABLE ADD COLUMN with constraint not supported", StatementKind.Ddl);
            }

            return null;
        }

        var generated = t.IndexOfWords(typeEnd, "generated");
        if (generated >= 0 && generated < end && t.IndexOfWords(generated, "identity") is var identity and >= 0 && identity < end)
        {
            if (typeName != "bigint")
            {
                return Unsupported($"datatype {typeName} not supported, identity column type must be bigint", StatementKind.Ddl);
            }

            var options = t.SymbolAt(identity + 1, "(") ? t.GetRange(identity + 1, t.SkipParentheses(identity + 1) - identity - 1) : [];
            return CheckSequenceCache(options, 0, isIdentity: true);
        }

        return null;
    }

    private static string CanonicalTypeName(List<string> words)
    {
        var joined = string.Join(' ', words);
        return joined switch
        {
            "int" or "int4" or "integer" => "integer",
            "int2" or "smallint" => "smallint",
            "int8" or "bigint" => "bigint",
            "float4" or "real" => "real",
            "float8" or "double precision" or "float" => "double precision",
            "bool" or "boolean" => "boolean",
            "varchar" or "character varying" => "character varying",
            "char" or "character" or "bpchar" => "character",
            "varbit" or "bit varying" => "bit varying",
            "decimal" or "dec" => "numeric",
            "timestamptz" or "timestamp with time zone" => "timestamp with time zone",
            "timetz" or "time with time zone" => "time with time zone",
            _ => joined,
        };
    }

    private static bool IsUnsupportedColumnType(string typeName)
        => typeName is "money" or "xml" or "inet" or "cidr" or "macaddr" or "macaddr8" or "point" or "line" or "lseg" or "box" or "path"
            or "polygon" or "circle" or "tsvector" or "tsquery" or "bit" or "bit varying" or "pg_lsn" or "txid_snapshot" or "pg_snapshot"
            or "jsonpath" or "int4range" or "int8range" or "numrange" or "tsrange" or "tstzrange" or "daterange"
            or "int4multirange" or "int8multirange" or "nummultirange" or "tsmultirange" or "tstzmultirange" or "datemultirange";

    /// <summary>DSQL requires an explicit CACHE of 1 or at least 65,536 on sequences and identity columns.</summary>
    private static StatementAnalysis? CheckSequenceCache(List<SqlToken> t, int start, bool isIdentity)
    {
        var cache = t.IndexOfWords(start, "cache");
        var what = isIdentity ? "identity column" : "CREATE SEQUENCE";
        const string advice = "please define CACHE greater than or equal to 65536 or equal to 1";
        if (cache < 0 || cache + 1 >= t.Count || t[cache + 1].Kind != TokenKind.Number)
        {
            return Unsupported($"{what} is not supported without an explicit cache size. {advice}", StatementKind.Ddl);
        }

        if (!long.TryParse(t[cache + 1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var size) || (size != 1 && size < 65536))
        {
            return StatementAnalysis.Refuse(StatementKind.Ddl, "22023", $"{what} cache size {t[cache + 1].Value} is not supported. {advice}");
        }

        return null;
    }

    private static StatementAnalysis AnalyzeCreateIndex(SqlStatement statement, int i, bool unique)
    {
        var t = statement.Tokens;
        if (t.WordAt(i) == "concurrently")
        {
            return Unsupported("unsupported mode. please use CREATE INDEX ASYNC.", StatementKind.Ddl);
        }

        if (t.WordAt(i) != "async")
        {
            return Unsupported("unsupported mode. please use CREATE INDEX ASYNC.", StatementKind.Ddl);
        }

        var asyncToken = t[i];
        var j = i + 1;
        if (t.WordAt(j) == "if" && t.WordAt(j + 1) == "not" && t.WordAt(j + 2) == "exists")
        {
            j += 3;
        }

        if (t.WordAt(j) != "on")
        {
            if (t.SymbolAt(j + 1, "."))
            {
                return StatementAnalysis.Refuse(StatementKind.Ddl, "42601", "syntax error at or near \".\"");
            }

            j++;
        }

        if (t.WordAt(j) != "on")
        {
            return new StatementAnalysis(StatementKind.Ddl, RemoveToken(statement.Text, asyncToken));
        }

        j++;
        if (t.WordAt(j) == "only")
        {
            j++;
        }

        var tableStart = j;
        var tableEnd = j + 1;
        while (t.SymbolAt(tableEnd, ".") && tableEnd + 1 < t.Count)
        {
            tableEnd += 2;
        }

        if (tableStart >= t.Count)
        {
            return new StatementAnalysis(StatementKind.Ddl, RemoveToken(statement.Text, asyncToken));
        }

        var table = statement.Text[t[tableStart].Start..t[tableEnd - 1].End];
        var ddl = RemoveToken(statement.Text, asyncToken);
        _ = unique;
        return new StatementAnalysis(StatementKind.Ddl, $"SELECT dsql_local.create_index_async({Literal(ddl)}, {Literal(table)}) AS job_id")
        {
            TagOverride = "CREATE INDEX",
            Tables = [t[tableEnd - 1].Value],
        };
    }

    private static StatementAnalysis AnalyzeAlter(SqlStatement statement)
    {
        var t = statement.Tokens;
        var ddl = new StatementAnalysis(StatementKind.Ddl, statement.Text);
        switch (t.WordAt(1))
        {
            case "system":
                return Unsupported("unsupported statement: AlterSystem", StatementKind.Ddl);
            case "database":
                return Unsupported("unsupported statement: AlterDatabase", StatementKind.Ddl);
            case "type":
                return Unsupported(t.IndexOfWords(2, "rename") >= 0 ? "unsupported object in RENAME statement" : "ALTER TYPE not supported", StatementKind.Ddl);
            case "sequence":
                return t.IndexOfWords(2, "cache") >= 0 ? CheckSequenceCache(t, 2, isIdentity: false) ?? ddl : ddl;
            case "table":
                return AnalyzeAlterTable(statement);
            default:
                return ddl;
        }
    }

    private static StatementAnalysis AnalyzeAlterTable(SqlStatement statement)
    {
        var t = statement.Tokens;
        var i = 2;
        Token? asyncToken = null;
        if (t.WordAt(i) == "async")
        {
            asyncToken = new Token(t[i]);
            i++;
        }

        if (t.WordAt(i) == "if" && t.WordAt(i + 1) == "exists")
        {
            i += 2;
        }

        if (t.WordAt(i) == "only")
        {
            i++;
        }

        i++;
        while (t.SymbolAt(i, "."))
        {
            i += 2;
        }

        var ddl = new StatementAnalysis(StatementKind.Ddl, statement.Text) { Tables = i - 1 < t.Count ? [t[i - 1].Value] : [] };
        foreach (var (start, end) in t.SplitTopLevel(i, t.Count))
        {
            var action = t.WordAt(start);
            var refusal = action switch
            {
                "add" => AnalyzeAddAction(t, start + 1, end),
                "alter" => AnalyzeAlterColumn(t, start + 1, end),
                "validate" when asyncToken is null => Unsupported("unsupported ALTER TABLE VALIDATE CONSTRAINT statement", StatementKind.Ddl),
                "set" when t.WordAt(start + 1) is "unlogged" => Unsupported("UNLOGGED table not supported for ALTER TABLE", StatementKind.Ddl),
                "inherit" or "attach" => Unsupported("unsupported ALTER TABLE statement", StatementKind.Ddl),
                _ => null,
            };
            if (refusal is not null)
            {
                return refusal;
            }
        }

        if (StorageRewrite(statement, i) is { } rewritten)
        {
            return ddl with { BackendSql = rewritten };
        }

        if (asyncToken is { } token)
        {
            if (t.IndexOfWords(i, "validate", "constraint") < 0)
            {
                return StatementAnalysis.Refuse(StatementKind.Ddl, "42601", "syntax error at or near \"ASYNC\": ALTER TABLE ASYNC only supports VALIDATE CONSTRAINT");
            }

            var backend = RemoveToken(statement.Text, token.Value);
            return new StatementAnalysis(StatementKind.Ddl, $"SELECT dsql_local.validate_constraint_async({Literal(backend)}) AS job_id")
            {
                TagOverride = "ALTER TABLE",
                Tables = ddl.Tables,
            };
        }

        return ddl;
    }

    /// <summary>
    /// <c>ADD COLUMN c type STORAGE x</c> is PostgreSQL 16 syntax (DSQL's); older backends get
    /// <c>ADD COLUMN c type, ALTER COLUMN c SET STORAGE x</c>, which means the same.
    /// </summary>
    private static string? StorageRewrite(SqlStatement statement, int actionsStart)
    {
        var t = statement.Tokens;
        var text = statement.Text;
        var result = new StringBuilder();
        var copied = 0;
        var extra = new StringBuilder();
        foreach (var (start, end) in t.SplitTopLevel(actionsStart, t.Count))
        {
            if (t.WordAt(start) != "add" || t.WordAt(start + 1) is "constraint" or "primary" or "unique" or "check" or "foreign")
            {
                continue;
            }

            var name = t.WordAt(start + 1) == "column" ? start + 2 : start + 1;
            if (t.WordAt(name) == "if")
            {
                name += 3;
            }

            for (var k = name + 1; k + 1 < end; k++)
            {
                if (t[k].IsWord("storage") && t[k + 1].IsName)
                {
                    result.Append(text, copied, t[k].Start - copied);
                    copied = t[k + 1].End;
                    extra.Append(", ALTER COLUMN ").Append(text[t[name].Start..t[name].End]).Append(" SET STORAGE ").Append(t[k + 1].Value);
                }
            }
        }

        if (extra.Length == 0)
        {
            return null;
        }

        return result.Append(text, copied, text.Length - copied).Append(extra).ToString();
    }

    private static StatementAnalysis? AnalyzeAddAction(List<SqlToken> t, int i, int end)
    {
        var word = t.WordAt(i);
        if (word is "constraint" or "primary" or "unique" or "check" or "foreign" or "exclude")
        {
            var isForeignOrCheck = t.IndexOfWords(i, "foreign", "key") is var fk and >= 0 && fk < end
                                   || t.IndexOfWords(i, "check") is var ck and >= 0 && ck < end;
            var notValid = t.IndexOfWords(i, "not", "valid") is var nv and >= 0 && nv < end;
            var usingIndex = t.IndexOfWords(i, "using", "index") is var ui and >= 0 && ui < end;
            if ((isForeignOrCheck && notValid) || usingIndex)
            {
                return null;
            }

            return Unsupported("unsupported ALTER TABLE ADD CONSTRAINT statement", StatementKind.Ddl);
        }

        if (word == "column")
        {
            i++;
        }

        if (t.WordAt(i) == "if" && t.WordAt(i + 1) == "not" && t.WordAt(i + 2) == "exists")
        {
            i += 3;
        }

        return CheckColumn(t, i, end, addColumn: true);
    }

    private static StatementAnalysis? AnalyzeAlterColumn(List<SqlToken> t, int i, int end)
    {
        if (t.WordAt(i) == "column")
        {
            i++;
        }

        i++; // the column name
        return (t.WordAt(i), t.WordAt(i + 1), t.WordAt(i + 2)) switch
        {
            ("type", _, _) or ("set", "data", "type") => Unsupported("unsupported ALTER TABLE ALTER COLUMN ... SET DATA TYPE statement", StatementKind.Ddl),
            ("set", "not", "null") => Unsupported("unsupported ALTER TABLE ALTER COLUMN ... SET NOT NULL statement", StatementKind.Ddl),
            ("add", "generated", _) => Unsupported("unsupported ALTER TABLE ALTER COLUMN ... ADD IDENTITY statement", StatementKind.Ddl),
            _ => null,
        };
    }

    private static StatementAnalysis AnalyzeDrop(SqlStatement statement)
    {
        var t = statement.Tokens;
        return t.WordAt(1) switch
        {
            "trigger" when !(t.WordAt(2) == "if" && t.WordAt(3) == "exists")
                => Unsupported("unsupported object in DROP statement", StatementKind.Ddl),
            "type" or "extension" or "rule" or "event" or "tablespace" or "server" or "publication" or "subscription" or "cast"
                or "aggregate" or "operator" or "language" or "foreign" or "collation"
                => Unsupported("unsupported object in DROP statement", StatementKind.Ddl),
            "database" => Unsupported("unsupported statement: Dropdb", StatementKind.Ddl),
            "role" or "user" when t.WordAt(2) != "mapping" => RoleStatements.Drop(statement),
            "table" => new StatementAnalysis(StatementKind.Ddl, statement.Text)
            {
                Tables = t.Skip(2).Where(x => x.IsName && x.Value is not ("if" or "exists" or "cascade" or "restrict")).Select(x => x.Value).ToList(),
            },
            _ => new StatementAnalysis(StatementKind.Ddl, statement.Text),
        };
    }

    private static string RemoveToken(string text, SqlToken token) => string.Concat(text.AsSpan(0, token.Start), text.AsSpan(token.End));

    /// <summary>A standard SQL string literal (standard_conforming_strings is always on for DSQL clients).</summary>
    private static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private readonly record struct Token(SqlToken Value);
}
