namespace Dsql.Local.Sql;

/// <summary>Helpers to read a statement's tokens by position.</summary>
internal static class TokenList
{
    public static string WordAt(this List<SqlToken> tokens, int index)
        => index >= 0 && index < tokens.Count && tokens[index].Kind == TokenKind.Word ? tokens[index].Value : "";

    public static bool SymbolAt(this List<SqlToken> tokens, int index, string symbol)
        => index >= 0 && index < tokens.Count && tokens[index].IsSymbol(symbol);

    /// <summary>Index of the first word <paramref name="word"/> at parenthesis depth 0 from <paramref name="start"/>, or -1.</summary>
    public static int IndexOfTopLevelWord(this List<SqlToken> tokens, string word, int start = 0)
    {
        var depth = 0;
        for (var i = start; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.IsSymbol("(") || token.IsSymbol("["))
            {
                depth++;
            }
            else if (token.IsSymbol(")") || token.IsSymbol("]"))
            {
                depth--;
            }
            else if (depth == 0 && token.IsWord(word))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Whether the word sequence occurs anywhere (outside strings and comments).</summary>
    public static int IndexOfWords(this List<SqlToken> tokens, int start, params string[] words)
    {
        for (var i = start; i + words.Length <= tokens.Count; i++)
        {
            var match = true;
            for (var j = 0; j < words.Length && match; j++)
            {
                match = tokens[i + j].IsWord(words[j]);
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The index just after the parenthesis that closes the one at <paramref name="open"/>.</summary>
    public static int SkipParentheses(this List<SqlToken> tokens, int open)
    {
        var depth = 0;
        for (var i = open; i < tokens.Count; i++)
        {
            if (tokens[i].IsSymbol("("))
            {
                depth++;
            }
            else if (tokens[i].IsSymbol(")") && --depth == 0)
            {
                return i + 1;
            }
        }

        return tokens.Count;
    }

    /// <summary>Splits tokens [start, end) at commas of depth 0.</summary>
    public static List<(int Start, int End)> SplitTopLevel(this List<SqlToken> tokens, int start, int end, string separator = ",")
    {
        var parts = new List<(int, int)>();
        var depth = 0;
        var partStart = start;
        for (var i = start; i < end; i++)
        {
            if (tokens[i].IsSymbol("(") || tokens[i].IsSymbol("["))
            {
                depth++;
            }
            else if (tokens[i].IsSymbol(")") || tokens[i].IsSymbol("]"))
            {
                depth--;
            }
            else if (depth == 0 && tokens[i].IsSymbol(separator))
            {
                parts.Add((partStart, i));
                partStart = i + 1;
            }
        }

        if (end > partStart)
        {
            parts.Add((partStart, end));
        }

        return parts;
    }
}
