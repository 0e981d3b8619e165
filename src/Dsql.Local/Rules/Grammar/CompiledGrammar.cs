using System.Text.Json;

namespace Dsql.Local.Rules.Grammar;

/// <summary>
/// DSQL's grammar (dsql-lint's <c>dsql_grammar.json</c>, derived from a live cluster) plus the overlays where the
/// real-cluster record shows DSQL accepting more, compiled into numbered productions for <see cref="GrammarRecognizer"/>.
/// Non-terminals are numbered from 0; terminals are stored as their complement (<c>~id</c>) in right-hand sides.
/// </summary>
internal sealed class CompiledGrammar
{
    /// <summary>The top-level statement rules dsql-lint dispatches to (the JSON's own root is not defined in it).</summary>
    public static readonly string[] TopLevelRules =
    [
        "CreateSchemaStmt", "CreateStmt", "IndexStmt", "ViewStmt", "CreateSeqStmt", "CreateDomainStmt", "CreateRoleStmt",
        "AlterTableStmt", "AlterSeqStmt", "AlterDomainStmt", "AlterObjectSchemaStmt", "AlterOwnerStmt", "AlterRoleStmt",
        "AlterRoleSetStmt", "RenameStmt", "CommentStmt", "DropStmt", "DropRoleStmt", "GrantStmt", "RevokeStmt", "GrantRoleStmt",
        "RevokeRoleStmt", "VariableShowStmt", "VariableSetStmt", "VariableResetStmt", "TransactionStmt", "ExplainStmt",
        "DeallocateStmt", "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt",
    ];

    private static readonly string[] KeywordRules = ["unreserved_keyword", "col_name_keyword", "type_func_name_keyword", "reserved_keyword"];

    /// <summary>Single characters PostgreSQL's lexer returns as themselves rather than as an operator (<c>Op</c>).</summary>
    private static readonly HashSet<string> SelfCharacters = [",", "(", ")", "[", "]", ".", ";", ":", "+", "-", "*", "/", "%", "^", "<", ">", "="];

    private readonly Dictionary<string, int> _nonTerminals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _wordTerminals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _quotedTerminals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _numberTerminals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _classTerminals = new(StringComparer.Ordinal);
    private readonly HashSet<string> _keywords = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _undefined = new(StringComparer.Ordinal);
    private readonly List<int> _lhs = [];
    private readonly List<int[]> _rhs = [];
    private int _terminalCount;
    private ulong[][] _first = [];

    private CompiledGrammar()
    {
    }

    public int Start { get; private set; }

    public int[] Lhs { get; private set; } = [];

    public int[][] Rhs { get; private set; } = [];

    public int[][] ProductionsOf { get; private set; } = [];

    public bool[] Nullable { get; private set; } = [];

    public bool[] ProductionNullable { get; private set; } = [];

    /// <summary>Rules referenced but defined neither by the grammar nor by an overlay (each derives nothing).</summary>
    public IReadOnlyCollection<string> UndefinedRules => _undefined;

    /// <summary>The names of the top-level statement rules, overlays included.</summary>
    public IReadOnlyList<string> Statements { get; private set; } = [];

    /// <summary>Compiles the grammar JSON and the overlay JSON.</summary>
    public static CompiledGrammar Load(Stream grammarJson, Stream overlayJson)
    {
        using var grammarDocument = JsonDocument.Parse(grammarJson);
        using var overlayDocument = JsonDocument.Parse(overlayJson);
        var rules = new Dictionary<string, RuleSource>(StringComparer.Ordinal);
        foreach (var rule in grammarDocument.RootElement.GetProperty("rules").EnumerateObject())
        {
            var choices = new List<List<(string Text, string Type)>>();
            foreach (var choice in rule.Value.GetProperty("choices").EnumerateArray())
            {
                choices.Add(choice.EnumerateArray().Select(t => (t.GetProperty("text").GetString()!, t.GetProperty("token_type").GetString()!)).ToList());
            }

            var repetition = rule.Value.GetProperty("repetition");
            rules[rule.Name] = new RuleSource(
                choices, rule.Value.GetProperty("optional").GetBoolean(), repetition.ValueKind == JsonValueKind.String ? repetition.GetString() : null);
        }

        var statements = TopLevelRules.ToList();
        foreach (var overlay in overlayDocument.RootElement.GetProperty("overlays").EnumerateArray())
        {
            var name = overlay.GetProperty("rule").GetString()!;
            if (!rules.TryGetValue(name, out var target))
            {
                rules[name] = target = new RuleSource([], false, null);
            }

            if (overlay.TryGetProperty("optional", out var optional))
            {
                target.Optional = optional.GetBoolean();
            }

            if (overlay.TryGetProperty("repetition", out var repetition))
            {
                target.Repetition = repetition.GetString();
            }

            foreach (var alternative in overlay.GetProperty("add").EnumerateArray())
            {
                target.Choices.Add(ParseAlternative(alternative.GetString()!));
            }

            if (overlay.TryGetProperty("statement", out var statement) && statement.GetBoolean() && !statements.Contains(name))
            {
                statements.Add(name);
            }
        }

        var grammar = new CompiledGrammar();
        grammar.Compile(rules, statements);
        return grammar;
    }

    /// <summary>Reads an overlay alternative: <c>'x'</c> quoted, <c>&lt;IDENT&gt;</c> a token class, UPPER a key word, else a rule.</summary>
    private static List<(string Text, string Type)> ParseAlternative(string text)
    {
        var symbols = new List<(string, string)>();
        foreach (var part in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Length >= 3 && part[0] == '\'' && part[^1] == '\'')
            {
                symbols.Add((part[1..^1], "Quoted"));
            }
            else if (part.Length >= 3 && part[0] == '<' && part[^1] == '>')
            {
                symbols.Add((part[1..^1], "CharClass"));
            }
            else if (part.All(c => char.IsUpper(c) || c == '_'))
            {
                symbols.Add((part, "Terminal"));
            }
            else
            {
                symbols.Add((part, "NonTerminal"));
            }
        }

        return symbols;
    }

    private void Compile(Dictionary<string, RuleSource> rules, List<string> statements)
    {
        foreach (var keywordRule in KeywordRules)
        {
            foreach (var choice in rules[keywordRule].Choices)
            {
                _keywords.UnionWith(choice.Select(s => s.Text.ToLowerInvariant()));
            }
        }

        foreach (var name in rules.Keys)
        {
            _nonTerminals[name] = _nonTerminals.Count;
        }

        const string start = "<statement>";
        Start = _nonTerminals[start] = _nonTerminals.Count;
        foreach (var (name, rule) in rules)
        {
            var lhs = _nonTerminals[name];
            int[]? separator = rule.Repetition switch
            {
                null => null,
                "" => [lhs],
                var s => [lhs, Symbol(s.All(char.IsLetter) ? (s, "Terminal") : (s, "Quoted"))],
            };
            foreach (var choice in rule.Choices)
            {
                var body = choice.Select(Symbol).ToArray();
                AddProduction(lhs, body);
                if (separator is not null)
                {
                    AddProduction(lhs, [.. separator, .. body]);
                }
            }

            if (rule.Optional)
            {
                AddProduction(lhs, []);
            }
        }

        foreach (var statement in statements.Where(_nonTerminals.ContainsKey))
        {
            AddProduction(Start, [_nonTerminals[statement]]);
        }

        Statements = statements;
        Lhs = [.. _lhs];
        Rhs = [.. _rhs];
        var productionsOf = new List<int>[_nonTerminals.Count];
        for (var i = 0; i < productionsOf.Length; i++)
        {
            productionsOf[i] = [];
        }

        for (var p = 0; p < Lhs.Length; p++)
        {
            productionsOf[Lhs[p]].Add(p);
        }

        ProductionsOf = productionsOf.Select(l => l.ToArray()).ToArray();
        ComputeNullable();
        ComputeFirst();
    }

    private void AddProduction(int lhs, int[] rhs)
    {
        _lhs.Add(lhs);
        _rhs.Add(rhs);
    }

    private int Symbol((string Text, string Type) symbol)
    {
        var (text, type) = symbol;
        switch (type)
        {
            case "NonTerminal":
                // A rule the grammar references but does not define derives nothing (dsql-lint treats it the same way).
                if (!_nonTerminals.TryGetValue(text, out var id))
                {
                    _nonTerminals[text] = id = _nonTerminals.Count;
                    _undefined.Add(text);
                }

                return id;
            case "Quoted":
                return ~Terminal(_quotedTerminals, text);
            case "CharClass":
                return ~Terminal(_classTerminals, text);
            default:
                return text.All(char.IsAsciiDigit)
                    ? ~Terminal(_numberTerminals, text)
                    : ~Terminal(_wordTerminals, text.ToLowerInvariant());
        }
    }

    private int Terminal(Dictionary<string, int> terminals, string key)
    {
        if (!terminals.TryGetValue(key, out var id))
        {
            terminals[key] = id = _terminalCount++;
        }

        return id;
    }

    private void ComputeNullable()
    {
        var nullable = new bool[_nonTerminals.Count];
        var changed = true;
        while (changed)
        {
            changed = false;
            for (var p = 0; p < Lhs.Length; p++)
            {
                if (!nullable[Lhs[p]] && Rhs[p].All(s => s >= 0 && nullable[s]))
                {
                    nullable[Lhs[p]] = changed = true;
                }
            }
        }

        Nullable = nullable;
        ProductionNullable = Rhs.Select(r => r.All(s => s >= 0 && nullable[s])).ToArray();
    }

    private void ComputeFirst()
    {
        var words = (_terminalCount + 63) / 64;
        var first = new ulong[_nonTerminals.Count][];
        for (var i = 0; i < first.Length; i++)
        {
            first[i] = new ulong[words];
        }

        var changed = true;
        while (changed)
        {
            changed = false;
            for (var p = 0; p < Lhs.Length; p++)
            {
                changed |= AddFirstOf(Rhs[p], first, first[Lhs[p]]);
            }
        }

        _first = new ulong[Lhs.Length][];
        for (var p = 0; p < Lhs.Length; p++)
        {
            _first[p] = new ulong[words];
            AddFirstOf(Rhs[p], first, _first[p]);
        }
    }

    private bool AddFirstOf(int[] rhs, ulong[][] first, ulong[] into)
    {
        var changed = false;
        foreach (var symbol in rhs)
        {
            if (symbol < 0)
            {
                var bit = 1UL << (~symbol % 64);
                if ((into[~symbol / 64] & bit) == 0)
                {
                    into[~symbol / 64] |= bit;
                    changed = true;
                }

                return changed;
            }

            var from = first[symbol];
            for (var w = 0; w < into.Length; w++)
            {
                var merged = into[w] | from[w];
                if (merged != into[w])
                {
                    into[w] = merged;
                    changed = true;
                }
            }

            if (!Nullable[symbol])
            {
                return changed;
            }
        }

        return changed;
    }

    /// <summary>Whether <paramref name="production"/> can begin with a token matching one of <paramref name="terminals"/>.</summary>
    public bool CanStartWith(int production, int[] terminals)
    {
        var first = _first[production];
        foreach (var terminal in terminals)
        {
            if ((first[terminal / 64] & (1UL << (terminal % 64))) != 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The terminals a token stands for, the way PostgreSQL's lexer would classify it.</summary>
    public int[] TerminalsOf(SqlToken token)
    {
        var terminals = new List<int>(3);
        void Add(Dictionary<string, int> map, string key)
        {
            if (map.TryGetValue(key, out var id))
            {
                terminals.Add(id);
            }
        }

        switch (token.Kind)
        {
            case TokenKind.Word:
                Add(_wordTerminals, token.Value);
                if (!_keywords.Contains(token.Value))
                {
                    // Not a key word: an identifier (key words reach identifier positions through the grammar's keyword rules).
                    Add(_classTerminals, "IDENT");
                }

                break;
            case TokenKind.QuotedIdentifier:
                Add(_classTerminals, "IDENT");
                break;
            case TokenKind.String:
                Add(_classTerminals, "SCONST");
                Add(_classTerminals, "BCONST");
                Add(_classTerminals, "XCONST");
                break;
            case TokenKind.Number:
                Add(_numberTerminals, token.Value);
                Add(_classTerminals, token.Value.All(char.IsAsciiDigit) ? "ICONST" : "FCONST");
                break;
            case TokenKind.Parameter:
                Add(_classTerminals, "PARAM");
                break;
            case TokenKind.Symbol:
                var text = token.Value == "!=" ? "<>" : token.Value;
                Add(_quotedTerminals, text);
                if (!SelfCharacters.Contains(text) && text is not ("::" or "<=" or ">=" or "<>" or ":=" or "=>"))
                {
                    Add(_classTerminals, "Op");
                }

                break;
        }

        return [.. terminals];
    }

    /// <summary>Whether <paramref name="word"/> (lower case) is one of the grammar's key words.</summary>
    public bool IsKeyword(string word) => _keywords.Contains(word);

    private sealed class RuleSource(List<List<(string Text, string Type)>> choices, bool optional, string? repetition)
    {
        public List<List<(string Text, string Type)>> Choices { get; } = choices;

        public bool Optional { get; set; } = optional;

        public string? Repetition { get; set; } = repetition;
    }
}
