using System.Globalization;
using System.Text.Json;
using Dsql.Local;
using Dsql.Local.Auth;

namespace EFCore.Dsql.UnitTests.Local;

public sealed class DsqlTokenVerifierTests
{
    public static TheoryData<string> VectorIndexes()
    {
        var data = new TheoryData<string>();
        using var document = JsonDocument.Parse(File.ReadAllText(RepositoryFiles.TestData("vectors", "dsql-auth-tokens.json")));
        for (var i = 0; i < document.RootElement.GetProperty("vectors").GetArrayLength(); i++)
        {
            data.Add(i.ToString(CultureInfo.InvariantCulture));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(VectorIndexes))]
    public void Accepts_every_token_from_the_official_aws_signer(string index)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(RepositoryFiles.TestData("vectors", "dsql-auth-tokens.json")));
        var vector = document.RootElement.GetProperty("vectors")[int.Parse(index, CultureInfo.InvariantCulture)];
        string Get(string name) => vector.GetProperty(name).GetString()!;
        var signedAt = DateTimeOffset.Parse(Get("signingTimeUtc"), CultureInfo.InvariantCulture);
        var verifier = new DsqlTokenVerifier(
            [new DsqlLocalCredential(Get("accessKeyId"), Get("secretAccessKey"))], Get("region"), [Get("hostname")], new FixedClock(signedAt.AddSeconds(1)));
        var user = Get("action") == "DbConnectAdmin" ? "admin" : "app";

        Assert.Null(verifier.Verify(user, Get("token")));

        var wrongSecret = new DsqlTokenVerifier(
            [new DsqlLocalCredential(Get("accessKeyId"), "wrong")], Get("region"), [Get("hostname")], new FixedClock(signedAt.AddSeconds(1)));
        Assert.Contains("signature does not match", wrongSecret.Verify(user, Get("token"))?.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_is_refused_one_second_after_it_expires_and_accepted_one_second_before()
    {
        var (verifier, user, token, signedAt, expiresIn) = FirstVector();
        Assert.Null(verifier(signedAt.AddSeconds(expiresIn - 1)).Verify(user, token));
        Assert.Contains("expired", verifier(signedAt.AddSeconds(expiresIn + 1)).Verify(user, token)?.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_dated_slightly_in_the_future_is_accepted_within_the_documented_skew_only()
    {
        var (verifier, user, token, signedAt, _) = FirstVector();
        Assert.Null(verifier(signedAt - DsqlTokenVerifier.FutureClockSkew + TimeSpan.FromSeconds(1)).Verify(user, token));
        Assert.Contains(
            "in the future",
            verifier(signedAt - DsqlTokenVerifier.FutureClockSkew - TimeSpan.FromSeconds(1)).Verify(user, token)?.Reason,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_access_key_gets_the_same_answer_as_a_wrong_secret()
    {
        var (_, user, token, signedAt, _) = FirstVector();
        var vector = Vector(0);
        var clock = new FixedClock(signedAt.AddSeconds(1));
        var wrongSecret = new DsqlTokenVerifier([new DsqlLocalCredential(vector.AccessKeyId, "wrong")], vector.Region, [vector.Host], clock);
        var otherKey = new DsqlTokenVerifier([new DsqlLocalCredential("AKIAOTHERKEY00000000", vector.Secret)], vector.Region, [vector.Host], clock);

        var unknown = otherKey.Verify(user, token);
        Assert.NotNull(unknown);
        Assert.Equal(wrongSecret.Verify(user, token), unknown);
        Assert.DoesNotContain(vector.AccessKeyId, unknown.Reason, StringComparison.Ordinal);
    }

    private static (string AccessKeyId, string Secret, string Region, string Host) Vector(int index)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(RepositoryFiles.TestData("vectors", "dsql-auth-tokens.json")));
        var vector = document.RootElement.GetProperty("vectors")[index];
        string Get(string name) => vector.GetProperty(name).GetString()!;
        return (Get("accessKeyId"), Get("secretAccessKey"), Get("region"), Get("hostname"));
    }

    private static (Func<DateTimeOffset, DsqlTokenVerifier> Verifier, string User, string Token, DateTimeOffset SignedAt, int ExpiresIn) FirstVector()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(RepositoryFiles.TestData("vectors", "dsql-auth-tokens.json")));
        var vector = document.RootElement.GetProperty("vectors")[0];
        string Get(string name) => vector.GetProperty(name).GetString()!;
        var (accessKeyId, secret, region, host) = Vector(0);
        var expiresIn = vector.GetProperty("expiresInSeconds").GetInt32();
        return (now => new DsqlTokenVerifier([new DsqlLocalCredential(accessKeyId, secret)], region, [host], new FixedClock(now)),
            Get("action") == "DbConnectAdmin" ? "admin" : "app",
            Get("token"),
            DateTimeOffset.Parse(Get("signingTimeUtc"), CultureInfo.InvariantCulture),
            expiresIn);
    }

    [Fact]
    public void Failure_reasons_never_contain_the_signature()
    {
        var verifier = new DsqlTokenVerifier([DsqlLocalCredential.Default], "us-east-1", ["localhost"]);
        var token = "localhost/?Action=DbConnectAdmin&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDSQLLOCALEXAMPLE1%2F20990101%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Date=20990101T000000Z&X-Amz-Expires=900&X-Amz-Signature=deadbeefcafe&X-Amz-SignedHeaders=host";
        var failure = verifier.Verify("admin", token);
        Assert.NotNull(failure);
        Assert.Contains("in the future", failure.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("deadbeefcafe", failure.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Credential_to_string_hides_the_secret()
        => Assert.DoesNotContain("secret-value", new DsqlLocalCredential("AKID", "secret-value").ToString(), StringComparison.Ordinal);

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
