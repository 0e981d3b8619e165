using Dsql.Local;

namespace EFCore.Dsql.UnitTests.Local;

public sealed class DsqlLocalCredentialTests
{
    [Fact]
    public void A_pair_without_an_arn_stands_for_a_documented_user_arn()
    {
        var credential = DsqlLocalCredential.Parse("AKIAEXAMPLE:secret");
        Assert.Equal(("AKIAEXAMPLE", "secret", null), (credential.AccessKeyId, credential.SecretAccessKey, credential.IamArn));
        Assert.Equal("arn:aws:iam::000000000000:user/AKIAEXAMPLE", credential.EffectiveIamArn);
    }

    [Theory]
    [InlineData("AKIAEXAMPLE:secret:arn:aws:iam::123456789012:role/app", "arn:aws:iam::123456789012:role/app")]
    [InlineData("AKIAEXAMPLE:se/cr+et:arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice")]
    public void A_pair_may_name_the_iam_arn_it_stands_for(string value, string arn)
    {
        var credential = DsqlLocalCredential.Parse(value);
        Assert.Equal(arn, credential.IamArn);
        Assert.Equal(arn, credential.EffectiveIamArn);
        Assert.DoesNotContain(":arn:", credential.SecretAccessKey, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AKIAEXAMPLE:secret:arn:aws:s3:::bucket")]
    [InlineData("AKIAEXAMPLE::arn:aws:iam::123456789012:role/app")]
    [InlineData("AKIAEXAMPLE:secret:arn:aws:iam::123456789012:")]
    public void A_malformed_arn_is_refused_with_an_example(string value)
    {
        var error = Assert.Throws<FormatException>(() => DsqlLocalCredential.Parse(value));
        Assert.Contains("arn:aws:iam::123456789012:role/", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_secret_never_appears_in_ToString()
    {
        var credential = DsqlLocalCredential.Parse("AKIAEXAMPLE:very-secret:arn:aws:iam::123456789012:role/app");
        Assert.DoesNotContain("very-secret", credential.ToString(), StringComparison.Ordinal);
        Assert.Contains("arn:aws:iam::123456789012:role/app", credential.ToString(), StringComparison.Ordinal);
    }
}
