namespace EFCore.Dsql.UnitTests.Local;

public sealed class SqlLexerTests
{
    [Fact]
    public void Words_are_lower_cased_and_quoted_identifiers_keep_their_case()
    {
        var tokens = SqlLexer.Tokenize("SELECT \"MyCol\"\"x\" FROM Tbl");
        Assert.Equal([TokenKind.Word, TokenKind.QuotedIdentifier, TokenKind.Word, TokenKind.Word], tokens.Select(t => t.Kind));
        Assert.Equal(["select", "MyCol\"x", "from", "tbl"], tokens.Select(t => t.Value));
    }

    [Theory]
    [InlineData("SELECT 'TRUNCATE x; DROP y'", "TRUNCATE x; DROP y")]
    [InlineData("SELECT 'it''s'", "it's")]
    [InlineData(@"SELECT E'a\'; TRUNCATE'", "a'; TRUNCATE")]
    [InlineData("SELECT $$ ; TRUNCATE $$", " ; TRUNCATE ")]
    [InlineData("SELECT $body$ 'x' $$ ; $body$", " 'x' $$ ; ")]
    public void String_constants_hide_their_content_from_analysis(string sql, string content)
    {
        var tokens = SqlLexer.Tokenize(sql);
        Assert.Equal(2, tokens.Count);
        Assert.Equal(TokenKind.String, tokens[1].Kind);
        Assert.Equal(content, tokens[1].Value);
    }

    [Fact]
    public void Comments_are_skipped_including_nested_block_comments()
    {
        var tokens = SqlLexer.Tokenize("SELECT /* outer /* inner; */ still; */ 1 -- TRUNCATE x;\n, 2");
        Assert.Equal(["select", "1", ",", "2"], tokens.Select(t => t.Value));
    }

    [Fact]
    public void Split_breaks_at_top_level_semicolons_only_and_drops_empty_statements()
    {
        var statements = SqlLexer.Split("SELECT ';'; ; CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;SELECT 3");
        Assert.Equal(["SELECT ';'", "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END", "SELECT 3"], statements.Select(s => s.Text));
    }

    [Fact]
    public void Parameters_casts_and_operators_are_distinct_tokens()
    {
        var tokens = SqlLexer.Tokenize("SELECT $1::int <> 2.5e-3");
        Assert.Equal([TokenKind.Word, TokenKind.Parameter, TokenKind.Symbol, TokenKind.Word, TokenKind.Symbol, TokenKind.Number], tokens.Select(t => t.Kind));
        Assert.Equal(["select", "$1", "::", "int", "<>", "2.5e-3"], tokens.Select(t => t.Value));
    }
}
