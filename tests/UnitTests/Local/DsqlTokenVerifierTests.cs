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
