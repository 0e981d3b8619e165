#pragma warning disable EF1001 // tests reach into EFCore.Dsql and Npgsql internals on purpose
using System.Data;
using Amazon;
using Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;
using Npgsql;

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

public class TokenProviderTests
{
    [Fact]
    public void Admin_gets_a_DbConnectAdmin_token_and_other_roles_a_DbConnect_token()
    {
        var provider = new DsqlTokenProvider(TestEndpoints.Endpoint, "us-east-1", new DsqlAuthSettings(null, null, TestEndpoints.Credentials, null));

        var admin = provider.GetToken(new NpgsqlConnectionStringBuilder { Username = "admin" });
        var app = provider.GetToken(new NpgsqlConnectionStringBuilder { Username = "app" });

        Assert.StartsWith(TestEndpoints.Endpoint + "/?Action=DbConnectAdmin&", admin);
        Assert.StartsWith(TestEndpoints.Endpoint + "/?Action=DbConnect&", app);
        Assert.Contains("us-east-1%2Fdsql%2Faws4_request", admin);
    }

    [Fact]
    public void Token_lifetime_is_applied()
    {
        var provider = new DsqlTokenProvider(
            TestEndpoints.Endpoint, "us-east-1", new DsqlAuthSettings(null, null, TestEndpoints.Credentials, TimeSpan.FromMinutes(5)));

        Assert.Contains("X-Amz-Expires=300", provider.GetToken(new NpgsqlConnectionStringBuilder { Username = "admin" }));
    }

    [Fact]
    public void A_missing_profile_is_reported_by_name_when_a_connection_needs_a_token()
    {
        var provider = new DsqlTokenProvider(TestEndpoints.Endpoint, "us-east-1", new DsqlAuthSettings(null, "no-such-profile-xyz", null, null));

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetToken(new NpgsqlConnectionStringBuilder { Username = "admin" }));
        Assert.Contains("'no-such-profile-xyz'", ex.Message);
    }
}
