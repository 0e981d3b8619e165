using System.Data.Common;
using Amazon.Extensions.NETCore.Setup;

namespace EFCore.Dsql.UnitTests.Npgsql;

/// <summary>AWS settings from the AWS SDK's <see cref="AWSOptions"/>, and <c>AddDsqlDataSource</c>'s registrations.</summary>
[Collection(AwsEnvironmentCollection.Name)]
public sealed class DsqlAwsOptionsAndDependencyInjectionTests
{
    private const string ClusterId = "abcdefghijklmnopqrstuvwxyz";
    private const string Endpoint = ClusterId + ".dsql.us-east-1.on.aws";

    [Fact]
    public void AWSOptions_from_configuration_give_a_cluster_ID_its_region_and_the_profile()
    {
        using var env = new AwsEnvironmentScope();
        var aws = new ConfigurationBuilder()
            .AddInMemoryCollection([new("AWS:Region", "eu-west-1"), new("AWS:Profile", "dev")])
            .Build()
            .GetAWSOptions();

        var options = aws.ParseDsqlConnectionOptions(ClusterId);

        Assert.Equal(ClusterId + ".dsql.eu-west-1.on.aws", options.Host);
        Assert.Equal("dev", options.Profile);
    }

    [Fact]
    public void AWSOptions_region_never_contradicts_the_region_an_endpoint_names()
    {
        using var env = new AwsEnvironmentScope();
        var aws = new AWSOptions { Region = RegionEndpoint.EUWest1 };

        Assert.Equal("us-east-1", aws.ParseDsqlConnectionOptions(Endpoint).Region);
        Assert.Equal("us-east-1", DsqlConnectionOptions.Parse(Endpoint).WithAwsOptions(aws).Region);
    }

    [Fact]
    public void AWSOptions_credentials_win_over_its_profile_but_not_over_the_strings_own_profile()
    {
        using var env = new AwsEnvironmentScope();
        var credentials = new BasicAWSCredentials("AKIDEXAMPLE", "secret");
        var aws = new AWSOptions { Credentials = credentials, Profile = "dev" };

        var fromAws = aws.ParseDsqlConnectionOptions(Endpoint);
        var ownProfile = aws.ParseDsqlConnectionOptions($"postgresql://admin@{Endpoint}/postgres?profile=prod");

        Assert.Same(credentials, fromAws.Credentials);
        Assert.Null(fromAws.Profile);
        Assert.Equal("prod", ownProfile.Profile);
        Assert.Null(ownProfile.Credentials);
    }

    [Fact]
    public void AddDsqlDataSource_registers_data_source_and_connections_like_Npgsql_with_AWSOptions_from_the_container()
    {
        using var env = new AwsEnvironmentScope();
        var services = new ServiceCollection();
        services.AddDefaultAWSOptions(new AWSOptions { Region = RegionEndpoint.EUWest1, Credentials = new BasicAWSCredentials("AKIDEXAMPLE", "secret") });
        services.AddDsqlDataSource(ClusterId, b => b.ConnectionStringBuilder.MaxPoolSize = 7);
        using var provider = services.BuildServiceProvider();

        var dataSource = provider.GetRequiredService<NpgsqlDataSource>();
        var builder = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Assert.Equal(ClusterId + ".dsql.eu-west-1.on.aws", builder.Host);
        Assert.Equal("admin", builder.Username);
        Assert.Equal(7, builder.MaxPoolSize);
        Assert.Same(dataSource, provider.GetRequiredService<DbDataSource>());
        using var connection = provider.GetRequiredService<NpgsqlConnection>();
        Assert.Equal(System.Data.ConnectionState.Closed, connection.State);
        Assert.IsType<NpgsqlConnection>(provider.GetRequiredService<DbConnection>());
    }

    [Fact]
    public void AddDsqlDataSource_with_a_key_registers_keyed_services()
    {
        using var env = new AwsEnvironmentScope();
        var services = new ServiceCollection();
        services.AddDsqlDataSource(Endpoint, serviceKey: "orders");
        using var provider = services.BuildServiceProvider();

        Assert.Null(provider.GetService<NpgsqlDataSource>());
        Assert.Equal(Endpoint, new NpgsqlConnectionStringBuilder(provider.GetRequiredKeyedService<NpgsqlDataSource>("orders").ConnectionString).Host);
    }
}
