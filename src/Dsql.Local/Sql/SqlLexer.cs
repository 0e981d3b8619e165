namespace Dsql.Local.Sql;

/// <summary>The kinds of PostgreSQL tokens the classifier needs to tell apart.</summary>
internal enum TokenKind
{
    /// <summary>An unquoted identifier or key word; <see cref="SqlToken.Value"/> is lower-cased.</summary>
    Word,

    /// <summary>A double-quoted identifier; <see cref="SqlToken.Value"/> is unquoted with <c>""</c> folded.</summary>
    QuotedIdentifier,

    /// <summary>A string constant in any form (<c>'…'</c>, <c>E'…'</c>, <c>U&amp;'…'</c>, <c>B'…'</c>, <c>$tag$…$tag$</c>); the value is its content.</summary>
    String,

    Number,

    /// <summary>A positional parameter such as <c>$1</c>.</summary>
    Parameter,

    /// <summary>An operator or punctuation: <c>( ) , ; . :: [ ]</c> or an operator such as <c>&lt;&gt;</c>.</summary>
    Symbol,
}

/// <summary>One token and where it sits in the source text.</summary>
internal readonly record struct SqlToken(TokenKind Kind, string Value, int Start, int Length)
{
    public int End => Start + Length;

    public bool IsWord(string word) => Kind == TokenKind.Word && Value == word;

    public bool IsSymbol(string symbol) => Kind == TokenKind.Symbol && Value == symbol;

    /// <summary>An identifier as PostgreSQL resolves it (quoted or not).</summary>
    public bool IsName => Kind is TokenKind.Word or TokenKind.QuotedIdentifier;
}

/// <summary>
/// A PostgreSQL lexer: respects string constants (standard, <c>E''</c> escapes, dollar quotes), quoted identifiers, and
/// both comment forms (nested block comments included), so statement analysis never mistakes text inside them for SQL.
/// </summary>
internal static class SqlLexer
{
    public static List<SqlToken> Tokenize(string sql) => Tokenize(sql, out _);

    /// <summary>The tokens of <paramref name="sql"/>; <paramref name="unterminatedComment"/> says whether it ends inside a <c>/*</c> comment.</summary>
    public static List<SqlToken> Tokenize(string sql, out bool unterminatedComment)
    {
        unterminatedComment = false;
        var tokens = new List<SqlToken>();
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            if (c == '-' && At(sql, i + 1) == '-')
            {
                while (i < sql.Length && sql[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            if (c == '/' && At(sql, i + 1) == '*')
            {
                var depth = 1;
                i += 2;
                while (i < sql.Length && depth > 0)
                {
                    if (sql[i] == '/' && At(sql, i + 1) == '*')
                    {
                        depth++;
                        i += 2;
                    }
                    else if (sql[i] == '*' && At(sql, i + 1) == '/')
                    {
                        depth--;
                        i += 2;
                    }
                    else
                    {
                        i++;
                    }
                }

                unterminatedComment |= depth > 0;
                continue;
            }

            var start = i;
            if (c == '\'')
            {
                i = ReadQuoted(sql, i, backslashEscapes: false, out var value);
                tokens.Add(new SqlToken(TokenKind.String, value, start, i - start));
                continue;
            }

            if ((c is 'e' or 'E') && At(sql, i + 1) == '\'')
            {
                i = ReadQuoted(sql, i + 1, backslashEscapes: true, out var value);
                tokens.Add(new SqlToken(TokenKind.String, value, start, i - start));
                continue;
            }

            if ((c is 'b' or 'B' or 'x' or 'X' or 'n' or 'N') && At(sql, i + 1) == '\'')
            {
                i = ReadQuoted(sql, i + 1, backslashEscapes: false, out var value);
                tokens.Add(new SqlToken(TokenKind.String, value, start, i - start));
                continue;
            }

            if ((c is 'u' or 'U') && At(sql, i + 1) == '&' && At(sql, i + 2) is '\'' or '"')
            {
                var quote = sql[i + 2];
                i = ReadQuoted(sql, i + 2, backslashEscapes: false, out var value);
                tokens.Add(new SqlToken(quote == '\'' ? TokenKind.String : TokenKind.QuotedIdentifier, value, start, i - start));
                continue;
            }

            if (c == '"')
            {
                i = ReadQuoted(sql, i, backslashEscapes: false, out var value);
                tokens.Add(new SqlToken(TokenKind.QuotedIdentifier, value, start, i - start));
                continue;
            }

            if (c == '$')
            {
                if (char.IsAsciiDigit(At(sql, i + 1)))
                {
                    i++;
                    while (i < sql.Length && char.IsAsciiDigit(sql[i]))
                    {
                        i++;
                    }

                    tokens.Add(new SqlToken(TokenKind.Parameter, sql[start..i], start, i - start));
                    continue;
                }

                if (TryReadDollarQuoted(sql, i, out var end, out var body))
                {
                    i = end;
                    tokens.Add(new SqlToken(TokenKind.String, body, start, i - start));
                    continue;
                }
            }

            if (IsIdentifierStart(c))
            {
                while (i < sql.Length && IsIdentifierPart(sql[i]))
                {
                    i++;
                }

                tokens.Add(new SqlToken(TokenKind.Word, sql[start..i].ToLowerInvariant(), start, i - start));
                continue;
            }

            if (char.IsAsciiDigit(c) || (c == '.' && char.IsAsciiDigit(At(sql, i + 1))))
            {
                while (i < sql.Length && (char.IsAsciiLetterOrDigit(sql[i]) || sql[i] == '.' || sql[i] == '_'
                                          || ((sql[i] is '+' or '-') && sql[i - 1] is 'e' or 'E')))
                {
                    if (sql[i] == '.' && At(sql, i + 1) == '.')
                    {
                        break;
                    }

                    i++;
                }

                tokens.Add(new SqlToken(TokenKind.Number, sql[start..i], start, i - start));
                continue;
            }

            if (c == ':' && At(sql, i + 1) == ':')
            {
                tokens.Add(new SqlToken(TokenKind.Symbol, "::", start, 2));
                i += 2;
                continue;
            }

            if (c is '(' or ')' or ',' or ';' or '.' or '[' or ']' or ':')
            {
                tokens.Add(new SqlToken(TokenKind.Symbol, c.ToString(), start, 1));
                i++;
                continue;
            }

            // An operator: a run of operator characters.
            while (i < sql.Length && "+-*/<>=~!@#%^&|`?".Contains(sql[i]))
            {
                if ((sql[i] == '-' && At(sql, i + 1) == '-') || (sql[i] == '/' && At(sql, i + 1) == '*'))
                {
                    break;
                }

                i++;
            }

            if (i == start)
            {
                i++;
            }

            tokens.Add(new SqlToken(TokenKind.Symbol, sql[start..i], start, i - start));
        }

        return tokens;
    }

    /// <summary>Splits a (possibly multi-statement) query into statements at top-level semicolons, dropping empty ones.</summary>
    public static List<SqlStatement> Split(string sql) => Split(sql, out _);

    /// <summary>
    /// Splits like <see cref="Split(string)"/>; <paramref name="unterminatedComment"/> says whether the text ends inside a
    /// <c>/*</c> comment, which PostgreSQL refuses as a whole (42601) before running any of it.
    /// </summary>
    public static List<SqlStatement> Split(string sql, out bool unterminatedComment)
    {
        var tokens = Tokenize(sql, out unterminatedComment);
        var statements = new List<SqlStatement>();
        var first = 0;
        var atomicDepth = 0;
        for (var i = 0; i <= tokens.Count; i++)
        {
            if (i < tokens.Count)
            {
                // A BEGIN ATOMIC … END function body holds semicolons of its own.
                if (tokens[i].IsWord("atomic") && i > 0 && tokens[i - 1].IsWord("begin") && i - 1 > first)
                {
                    atomicDepth++;
                }
                else if (atomicDepth > 0 && tokens[i].IsWord("end"))
                {
                    atomicDepth--;
                }

                if (!tokens[i].IsSymbol(";") || atomicDepth > 0)
                {
                    continue;
                }
            }

            if (i > first)
            {
                var start = tokens[first].Start;
                var end = tokens[i - 1].End;
                statements.Add(new SqlStatement(sql[start..end], tokens.GetRange(first, i - first).Select(t => t with { Start = t.Start - start }).ToList()));
            }

            first = i + 1;
        }

        return statements;
    }

    private static char At(string s, int i) => i < s.Length ? s[i] : '\0';

    private static bool IsIdentifierStart(char c) => char.IsLetter(c) || c == '_' || c > 127;

    private static bool IsIdentifierPart(char c) => char.IsLetterOrDigit(c) || c is '_' or '$' || c > 127;

    // A quoted string or identifier: sql[quote] is the delimiter, written twice inside to stand for itself.
    private static int ReadQuoted(string sql, int quote, bool backslashEscapes, out string value)
    {
        var delimiter = sql[quote];
        var builder = new System.Text.StringBuilder();
        var i = quote + 1;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (backslashEscapes && c == '\\' && i + 1 < sql.Length)
            {
                builder.Append(sql[i + 1]);
                i += 2;
                continue;
            }

            if (c == delimiter)
            {
                if (At(sql, i + 1) == delimiter)
                {
                    builder.Append(delimiter);
                    i += 2;
                    continue;
                }

                value = builder.ToString();
                return i + 1;
            }

            builder.Append(c);
            i++;
        }

        value = builder.ToString();
        return i;
    }

    private static bool TryReadDollarQuoted(string sql, int start, out int end, out string body)
    {
        var tagEnd = start + 1;
        while (tagEnd < sql.Length && sql[tagEnd] != '$')
        {
            if (!IsIdentifierPart(sql[tagEnd]) || sql[tagEnd] == '$')
            {
                end = 0;
                body = "";
                return false;
            }

            tagEnd++;
        }

        if (tagEnd >= sql.Length)
        {
            end = 0;
            body = "";
            return false;
        }

        var tag = sql[start..(tagEnd + 1)];
        var close = sql.IndexOf(tag, tagEnd + 1, StringComparison.Ordinal);
        if (close < 0)
        {
            end = sql.Length;
            body = sql[(tagEnd + 1)..];
            return true;
        }

        body = sql[(tagEnd + 1)..close];
        end = close + tag.Length;
        return true;
    }
}

/// <summary>One statement's text and tokens (token positions relative to <see cref="Text"/>).</summary>
internal sealed record SqlStatement(string Text, List<SqlToken> Tokens);
