namespace Dsql.Local.Rules.Grammar;

/// <summary>
/// An Earley recognizer over a <see cref="CompiledGrammar"/>: decides whether the grammar derives a statement's tokens,
/// and if not, the first token no derivation gets past. Earley handles the grammar as it comes (left recursion,
/// ambiguity, empty rules); predictions are filtered by the next token's FIRST set, which keeps the item sets small.
/// </summary>
internal sealed class GrammarRecognizer(CompiledGrammar grammar)
{
    /// <summary>The index of the first token no derivation continues past; the token count when the input ends too early; -1 when derived.</summary>
    public int FirstUnderivedToken(List<SqlToken> tokens) => FirstUnderivedToken(Terminals(tokens));

    /// <summary>The grammar terminals each token can stand for: all the recognizer looks at.</summary>
    public int[][] Terminals(List<SqlToken> tokens)
    {
        var matches = new int[tokens.Count][];
        for (var i = 0; i < matches.Length; i++)
        {
            matches[i] = grammar.TerminalsOf(tokens[i]);
        }

        return matches;
    }

    /// <summary><see cref="FirstUnderivedToken(List{SqlToken})"/> over tokens already mapped to their terminals.</summary>
    public int FirstUnderivedToken(int[][] matches)
    {
        var count = matches.Length;
        var sets = new EarleySet[count + 1];
        for (var i = 0; i <= count; i++)
        {
            sets[i] = new EarleySet(grammar);
        }

        Predict(sets[0], grammar.Start, 0, count > 0 ? matches[0] : null);
        for (var i = 0; i <= count; i++)
        {
            var set = sets[i];
            if (set.Items.Count == 0)
            {
                // Nothing reached this position: the token before it is where every derivation stopped.
                return Math.Max(i - 1, 0);
            }

            var next = i < count ? matches[i] : null;
            for (var k = 0; k < set.Items.Count; k++)
            {
                var item = set.Items[k];
                var rhs = grammar.Rhs[item.Production];
                if (item.Dot == rhs.Length)
                {
                    Complete(sets[item.Origin], set, grammar.Lhs[item.Production]);
                    continue;
                }

                var symbol = rhs[item.Dot];
                if (symbol >= 0)
                {
                    Predict(set, symbol, i, next);
                    if (grammar.Nullable[symbol])
                    {
                        // Aycock and Horspool: a nullable non-terminal may be skipped at once.
                        set.Add(item with { Dot = item.Dot + 1 });
                    }
                }
                else if (next is not null && Array.IndexOf(next, ~symbol) >= 0)
                {
                    sets[i + 1].Add(item with { Dot = item.Dot + 1 });
                }
            }
        }

        foreach (var item in sets[count].Items)
        {
            if (item.Origin == 0 && grammar.Lhs[item.Production] == grammar.Start && item.Dot == grammar.Rhs[item.Production].Length)
            {
                return -1;
            }
        }

        return count;
    }

    private void Predict(EarleySet set, int nonTerminal, int position, int[]? next)
    {
        if (!set.Predicted.Add(nonTerminal))
        {
            return;
        }

        foreach (var production in grammar.ProductionsOf[nonTerminal])
        {
            if (grammar.ProductionNullable[production] || (next is not null && grammar.CanStartWith(production, next)))
            {
                set.Add(new EarleyItem(production, 0, position));
            }
        }
    }

    private static void Complete(EarleySet origin, EarleySet set, int lhs)
    {
        if (!origin.Waiting.TryGetValue(lhs, out var waiting))
        {
            return;
        }

        // The list may grow while we walk it when origin and set are the same set.
        for (var w = 0; w < waiting.Count; w++)
        {
            var parent = origin.Items[waiting[w]];
            set.Add(parent with { Dot = parent.Dot + 1 });
        }
    }

    private readonly record struct EarleyItem(int Production, int Dot, int Origin);

    private sealed class EarleySet(CompiledGrammar grammar)
    {
        private readonly HashSet<EarleyItem> _seen = [];

        public List<EarleyItem> Items { get; } = [];

        public HashSet<int> Predicted { get; } = [];

        /// <summary>Indexes of the items whose next symbol is a given non-terminal.</summary>
        public Dictionary<int, List<int>> Waiting { get; } = [];

        public void Add(EarleyItem item)
        {
            if (!_seen.Add(item))
            {
                return;
            }

            Items.Add(item);
            var rhs = grammar.Rhs[item.Production];
            if (item.Dot < rhs.Length && rhs[item.Dot] >= 0)
            {
                if (!Waiting.TryGetValue(rhs[item.Dot], out var list))
                {
                    Waiting[rhs[item.Dot]] = list = [];
                }

                list.Add(Items.Count - 1);
            }
        }
    }
}
