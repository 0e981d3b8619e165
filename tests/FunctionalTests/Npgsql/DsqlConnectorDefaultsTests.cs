namespace EFCore.Dsql.FunctionalTests.Npgsql;

/// <summary>
/// The connector's TLS and setting defaults against Dsql.Local (TLS with its own root certificate, IAM on): every host
/// gets VerifyFull unless a mode is chosen, and empty region/profile settings are refused.
/// </summary>
[Collection(DsqlLocalCollection.Name)]
public sealed class DsqlConnectorDefaultsTests(DsqlLocalFixture fixture)
{
    private DsqlConnectionOptions Options(string source)
        => DsqlConnectionOptions.Parse(source, fixture.Region)
            .WithCredentials(new BasicAWSCredentials(fixture.Credential.AccessKeyId, fixture.Credential.SecretAccessKey));

    [Theory]
    [InlineData("endpoint")]
    [InlineData("127.0.0.1")]
    public async Task A_non_DSQL_host_name_or_an_IP_address_gets_VerifyFull_by_default_and_connects_when_the_root_is_trusted(string host)
    {
        var options = Options($"Host={(host == "endpoint" ? fixture.Endpoint : host)};Port={fixture.Port};Root Certificate={fixture.Server.RootCertificatePath}");
        await using var dataSource = DsqlDataSource.Create(options);
        await using var connection = await dataSource.OpenConnectionAsync();

        Assert.Equal(SslMode.VerifyFull, new NpgsqlConnectionStringBuilder(connection.ConnectionString).SslMode);
        Assert.Equal("admin", connection.UserName);
    }

    [Theory]
    [InlineData("postgresql://admin@localhost:{0}/postgres?region=", "'region' setting is empty")]
    [InlineData("postgresql://admin@localhost:{0}/postgres?profile=", "'profile' setting is empty")]
    [InlineData("Host=localhost;Port={0};Region=", "'Region' setting is empty")]
    [InlineData("Host=localhost;Port={0};Profile=", "'Profile' setting is empty")]
    public void An_empty_region_or_profile_is_refused_instead_of_silently_using_another_identity(string template, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => DsqlConnectionOptions.Parse(string.Format(template, fixture.Port)));

        Assert.Contains(message, ex.Message);
    }
}
