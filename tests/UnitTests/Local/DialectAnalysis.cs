using Dsql.Local.Protocol;

namespace EFCore.Dsql.UnitTests.Local;

/// <summary>The emulator dialect's verdict on one statement, as the dialect tests ask for it.</summary>
internal static class DialectAnalysis
{
    /// <summary>The dialect's analysis of <paramref name="sql"/>, which must be exactly one statement.</summary>
    public static StatementAnalysis Analyze(string sql) => new DsqlDialect().Analyze(Assert.Single(SqlLexer.Split(sql)));

    /// <summary>Asserts that the dialect refuses <paramref name="sql"/> with this SQLSTATE and message.</summary>
    public static void AssertRefused(string sql, string sqlState, string message)
    {
        var refusal = Assert.IsType<PgError>(Analyze(sql).Refusal);
        Assert.Equal((sqlState, message), (refusal.SqlState, refusal.Message));
    }
}
