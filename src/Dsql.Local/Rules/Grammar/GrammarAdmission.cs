using System.Collections.Concurrent;
using System.Text.Json;

namespace Dsql.Local.Rules.Grammar;

/// <summary>
/// Admission by DSQL's grammar: a statement the grammar (with its overlays) does not derive is refused the way DSQL
/// refuses it. The verdict depends on the statement's text alone, so it is computed once per distinct text.
/// </summary>
internal sealed class GrammarAdmission
{
    /// <summary>Texts longer than this (bulk statements with inlined data) are judged every time rather than kept.</summary>
    internal const int MaxCachedTextLength = 8 * 1024;

    internal const int MaxCachedVerdicts = 4096;

    /// <summary>Statements with more tokens than this (bulk inserts) are not kept by shape: the key would be as long as they are.</summary>
    internal const int MaxCachedShapeTokens = 1024;

    private static readonly Lazy<GrammarAdmission> LazyShared = new(Load);

    private static readonly Verdict Admitted = new(null);

    /// <summary>PostgreSQL node names DSQL reports for statement types it does not support (<c>unsupported statement: …</c>).</summary>
    private static readonly Dictionary<string, string> NodeNames = new(StringComparer.Ordinal)
    {
        ["declare"] = "DeclareCursor",
        ["fetch"] = "Fetch",
        ["move"] = "Fetch",
        ["close"] = "ClosePortal",
        ["create procedure"] = "CreateFunction",
        ["create or"] = "CreateFunction",
        ["create statistics"] = "CreateStats",
        ["create access"] = "CreateAm",
        ["create conversion"] = "CreateConversion",
        ["alter default"] = "AlterDefaultPrivileges",
        ["alter extension"] = "AlterExtension",
        ["alter statistics"] = "AlterStats",
        ["alter procedure"] = "AlterFunction",
        ["alter routine"] = "AlterFunction",
        ["alter large"] = "AlterOwner",
        ["alter operator"] = "AlterOperator",
        ["alter materialized"] = "AlterTable",
        ["create group"] = "CreateRole",
        ["create user"] = "CreateRole",
        ["drop owned"] = "DropOwned",
        ["reassign owned"] = "ReassignOwned",
        ["security label"] = "SecLabel",
        ["execute"] = "Execute",
    };

    private readonly CompiledGrammar _grammar;
    private readonly GrammarRecognizer _recognizer;
    private readonly List<string[]> _unchecked;
    private readonly ConcurrentDictionary<string, Verdict> _verdicts = new(StringComparer.Ordinal);

    // Texts that differ only in literals and identifiers (inlined constants, other tables) have the same terminals, so
    // the recognizer's answer is kept by that shape too: a new text of a known shape skips the Earley pass.
    private readonly ConcurrentDictionary<string, int> _underivedByShape = new(StringComparer.Ordinal);

    private GrammarAdmission(CompiledGrammar grammar, List<string[]> uncheckedPrefixes)
    {
        _grammar = grammar;
        _recognizer = new GrammarRecognizer(grammar);
        _unchecked = uncheckedPrefixes;
    }

    /// <summary>The grammar compiled from the embedded data, shared by every session.</summary>
    public static GrammarAdmission Shared => LazyShared.Value;

    internal CompiledGrammar Grammar => _grammar;

    /// <summary>Whether the verdict for <paramref name="text"/> is cached.</summary>
    internal bool IsCached(string text) => _verdicts.ContainsKey(text);

    /// <summary>DSQL's refusal of <paramref name="statement"/>, or <see langword="null"/> when its grammar derives it.</summary>
    public PgError? Check(SqlStatement statement)
    {
        if (_verdicts.TryGetValue(statement.Text, out var cached))
        {
            return cached.ToError();
        }

        var verdict = Judge(statement);
        if (statement.Text.Length <= MaxCachedTextLength)
        {
            Remember(_verdicts, statement.Text, verdict);
        }

        return verdict.ToError();
    }

    /// <summary>Keeps <paramref name="value"/>; a full cache starts over, so endless distinct keys cannot grow it without bound.</summary>
    private static void Remember<TValue>(ConcurrentDictionary<string, TValue> cache, string key, TValue value)
    {
        if (cache.Count >= MaxCachedVerdicts)
        {
            cache.Clear();
        }

        cache[key] = value;
    }

    private Verdict Judge(SqlStatement statement)
    {
        var t = statement.Tokens;
        if (t.Count == 0 || IsUnchecked(t))
        {
            return Admitted;
        }

        var terminals = _recognizer.Terminals(t);
        var at = terminals.Length > MaxCachedShapeTokens ? _recognizer.FirstUnderivedToken(terminals) : FirstUnderivedTokenByShape(terminals);
        return at < 0 ? Admitted : new Verdict(Refusal(statement, at));
    }

    private int FirstUnderivedTokenByShape(int[][] terminals)
    {
        var shape = Shape(terminals);
        if (!_underivedByShape.TryGetValue(shape, out var at))
        {
            at = _recognizer.FirstUnderivedToken(terminals);
            Remember(_underivedByShape, shape, at);
        }

        return at;
    }

    private static string Shape(int[][] terminals)
    {
        var shape = new System.Text.StringBuilder(terminals.Length * 6);
        foreach (var token in terminals)
        {
            foreach (var terminal in token)
            {
                shape.Append(terminal.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(',');
            }

            shape.Append(';');
        }

        return shape.ToString();
    }

    private bool IsUnchecked(List<SqlToken> t)
    {
        foreach (var prefix in _unchecked)
        {
            var i = 0;
            while (i < prefix.Length && t.WordAt(i) == prefix[i])
            {
                i++;
            }

            if (i == prefix.Length)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// DSQL's wording for a statement its grammar stops deriving at token <paramref name="at"/>: the recorded patterns
    /// where one covers the family (<c>… not supported for CREATE TABLE</c>, <c>unsupported ALTER TABLE … statement</c>,
    /// <c>unsupported object in DROP statement</c>, <c>unsupported statement: Node</c>), else the parser's 42601.
    /// </summary>
    private PgError Refusal(SqlStatement statement, int at)
    {
        var t = statement.Tokens;
        var first = t.WordAt(0);
        var failing = at < t.Count ? t[at] : default;
        var failingWord = at < t.Count && failing.Kind == TokenKind.Word ? failing.Value : "";
        if (first == "create" && failingWord is "temp" or "temporary")
        {
            var kind = t.WordAt(at + 1) == "recursive" ? t.WordAt(at + 2) : t.WordAt(at + 1);
            return Unsupported($"TEMPORARY or TEMP {kind} not supported for CREATE {kind.ToUpperInvariant()}");
        }

        if (first == "create" && failingWord == "unlogged")
        {
            var kind = t.WordAt(at + 1);
            return Unsupported($"UNLOGGED {kind} not supported for CREATE {kind.ToUpperInvariant()}");
        }

        if (first == "create" && t.WordAt(1) == "table" && failingWord.Length > 0 && _grammar.IsKeyword(failingWord))
        {
            // An EXCLUDE constraint reads as a column named "exclude" up to the token after it.
            var clause = t.WordAt(at - 1) == "exclude" && (t.SymbolAt(at - 2, ",") || t.SymbolAt(at - 2, "(")) ? "exclude" : failingWord;
            return Unsupported($"{clause.ToUpperInvariant()} not supported for CREATE TABLE");
        }

        if (first == "alter" && t.WordAt(1) is "table" or "index" && at > 2)
        {
            return Unsupported($"unsupported ALTER {t.WordAt(1).ToUpperInvariant()} {AlterAction(t, at)} statement");
        }

        if (first == "alter" && t.WordAt(1) == "index")
        {
            return Unsupported("unsupported ALTER INDEX statement");
        }

        if (first == "drop" && at == 1)
        {
            return Unsupported("unsupported object in DROP statement");
        }

        if (first is "begin" or "start" or "commit" or "end" or "rollback" or "abort")
        {
            return Unsupported("unsupported transaction statement: " + string.Join(' ', t.TakeWhile(x => x.Kind == TokenKind.Word).Select(x => x.Value.ToUpperInvariant())));
        }

        // The first word starts no statement DSQL has, or the object kind after CREATE/ALTER/… is one it does not have.
        if (t[0].Kind == TokenKind.Word && (at == 0 || (at == 1 && first is "create" or "alter" or "comment" or "security" or "import")))
        {
            return Unsupported("unsupported statement: " + NodeName(t));
        }

        return at >= t.Count
            ? new PgError("ERROR", "42601", "syntax error at end of input")
            : new PgError("ERROR", "42601", $"syntax error at or near \"{statement.Text[failing.Start..failing.End]}\"");
    }

    /// <summary>The words of the ALTER TABLE action the grammar stopped in, key words upper-cased and names as <c>...</c>.</summary>
    private string AlterAction(List<SqlToken> t, int at)
    {
        var start = at;
        var depth = 0;
        while (start > 3)
        {
            var previous = t[start - 1];
            if (previous.IsSymbol(")"))
            {
                depth++;
            }
            else if (previous.IsSymbol("("))
            {
                depth--;
            }
            else if (depth == 0 && previous.IsSymbol(","))
            {
                break;
            }

            start--;
        }

        if (start == 3)
        {
            // Skip "ALTER TABLE [ASYNC] [IF EXISTS] [ONLY] name[.name]" to the action.
            var i = 2;
            while (t.WordAt(i) is "async" or "if" or "exists" or "only")
            {
                i++;
            }

            i++;
            while (t.SymbolAt(i, ".") && i + 1 < t.Count)
            {
                i += 2;
            }

            start = Math.Min(i, at);
        }

        var words = new StringBuilder();
        for (var i = start; i < t.Count; i++)
        {
            var token = t[i];
            var word = token.Kind == TokenKind.Word && _grammar.IsKeyword(token.Value) ? token.Value.ToUpperInvariant()
                : token.IsName ? "..."
                : null;
            if (word is null)
            {
                break;
            }

            if (word == "..." && words.Length >= 3 && words.ToString(words.Length - 3, 3) == "...")
            {
                continue;
            }

            words.Append(words.Length > 0 ? " " : "").Append(word);
        }

        var action = words.ToString();
        return action.EndsWith(" ...", StringComparison.Ordinal) ? action[..^4] : action;
    }

    private static string NodeName(List<SqlToken> t)
    {
        // Statements that name an object kind after their verb are named by both words (CreatePolicy), others by one (Savepoint).
        var two = t.Count > 1 && t[1].Kind == TokenKind.Word && t[0].Value is "create" or "alter" or "drop" or "comment" or "security" or "import"
            ? t[0].Value + " " + t[1].Value
            : t[0].Value;
        if (NodeNames.TryGetValue(two, out var name) || NodeNames.TryGetValue(t[0].Value, out name))
        {
            return name;
        }

        var words = two.Split(' ');
        return string.Concat(words.Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
    }

    private static PgError Unsupported(string message) => new("ERROR", "0A000", message);

    private static GrammarAdmission Load()
    {
        var assembly = typeof(GrammarAdmission).Assembly;
        using var grammar = assembly.GetManifestResourceStream("Dsql.Local.dsql_grammar.json")
                            ?? throw new InvalidOperationException("The embedded DSQL grammar is missing from Dsql.Local.");
        using var overlay = assembly.GetManifestResourceStream("Dsql.Local.dsql_grammar_overlay.json")
                            ?? throw new InvalidOperationException("The embedded DSQL grammar overlay is missing from Dsql.Local.");
        var compiled = CompiledGrammar.Load(grammar, overlay);
        overlay.Position = 0;
        using var document = JsonDocument.Parse(overlay);
        var uncheckedPrefixes = document.RootElement.GetProperty("unchecked").EnumerateArray()
            .Select(u => u.GetProperty("prefix").GetString()!.Split(' '))
            .ToList();
        return new GrammarAdmission(compiled, uncheckedPrefixes);
    }

    /// <summary>A cached verdict; every refusal answered is a fresh error (errors are mutable on their way out).</summary>
    private sealed record Verdict(PgError? Refusal)
    {
        public PgError? ToError() => Refusal is { } refusal ? new PgError("ERROR", refusal.SqlState, refusal.Message) : null;
    }
}
