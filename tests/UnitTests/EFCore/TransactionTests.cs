#pragma warning disable EF1001 // tests reach into EFCore.Dsql and Npgsql internals on purpose
using System.Data;

namespace EFCore.Dsql.UnitTests.EFCore;

public class TransactionTests
{
    [Theory]
    [InlineData(IsolationLevel.Unspecified)]
    [InlineData(IsolationLevel.RepeatableRead)]
    [InlineData(IsolationLevel.Snapshot)]
    public void Levels_DSQL_gives_map_to_repeatable_read(IsolationLevel requested)
        => Assert.Equal(IsolationLevel.RepeatableRead, DsqlRelationalConnection.MapIsolationLevel(requested));

    [Theory]
    [InlineData(IsolationLevel.ReadCommitted)]
    [InlineData(IsolationLevel.ReadUncommitted)]
    [InlineData(IsolationLevel.Serializable)]
    [InlineData(IsolationLevel.Chaos)]
    public void Levels_DSQL_cannot_give_are_refused_not_downgraded(IsolationLevel requested)
    {
        var ex = Assert.Throws<NotSupportedException>(() => DsqlRelationalConnection.MapIsolationLevel(requested));

        Assert.Contains($"IsolationLevel.{requested}", ex.Message);
        Assert.Contains("REPEATABLE READ", ex.Message);
    }
}
