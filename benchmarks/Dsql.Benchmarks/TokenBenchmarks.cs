using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.Runtime.Internal.Auth;
using Amazon.Runtime.Internal.Util;
using BenchmarkDotNet.Attributes;
using Dsql.Npgsql;

namespace Dsql.Benchmarks;

/// <summary>
/// The cost of one DSQL auth token (paid once per physical connection). Baseline: the AWS SDK's general-purpose SigV4
/// presigner (<c>AWS4PreSignedUrlSigner</c>, what the SDK's own DSQL token generator builds on); candidates: this
/// connector's dedicated presigner, directly and through the data source's password provider.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 2, iterationCount: 5)]
public class TokenBenchmarks
{
    private const string Host = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";
    private static readonly BasicAWSCredentials Credentials = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    private static readonly SessionAWSCredentials SessionCredentials = new("ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", new string('x', 700));
    private DsqlAuthTokenProvider _provider = null!;

    [GlobalSetup]
    public void Setup()
    {
        _provider = new DsqlAuthTokenProvider(DsqlConnectionOptions.Parse(Host).WithCredentials(Credentials));
        // Both sides must sign the same request for the comparison to be fair: the same query parameters (the SDK orders
        // them differently) and, within the same second, the same signature.
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (Parameters(SdkPresigner()).SetEquals(Parameters(ConnectorGenerator())))
            {
                return;
            }
        }

        throw new InvalidOperationException($"The baseline signs a different request:\n{SdkPresigner()}\n{ConnectorGenerator()}");
    }

    private static HashSet<string> Parameters(string token) => [.. token[(token.IndexOf('?', StringComparison.Ordinal) + 1)..].Split('&')];

    [Benchmark(Baseline = true, Description = "AWS SDK AWS4PreSignedUrlSigner")]
    public string SdkPresigner()
    {
        var immutable = Credentials.GetCredentials();
        var request = new DefaultRequest(new TokenRequest(), "dsql")
        {
            UseQueryString = true,
            HttpMethod = "GET",
            Endpoint = new Uri("https://" + Host),
            ResourcePath = "/",
        };
        request.Parameters["Action"] = "DbConnectAdmin";
        request.Parameters["X-Amz-Expires"] = "900";
        request.Headers["host"] = Host;
        var result = AWS4PreSignedUrlSigner.SignRequest(request, new TokenClientConfig(), new RequestMetrics(), immutable.AccessKey, immutable.SecretKey, "dsql", "us-east-1");
        var url = AmazonServiceClient.ComposeUrl(request).ToString();
        return url["https://".Length..] + "&" + result.ForQueryParameters;
    }

    [Benchmark(Description = "DsqlAuthTokenGenerator")]
    public string ConnectorGenerator()
        => DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(Credentials, RegionEndpoint.USEast1, Host);

    [Benchmark(Description = "DsqlAuthTokenGenerator, session token")]
    public string ConnectorGeneratorWithSessionToken()
        => DsqlAuthTokenGenerator.GenerateDbConnectAdminAuthToken(SessionCredentials, RegionEndpoint.USEast1, Host);

    [Benchmark(Description = "DsqlAuthTokenProvider.GenerateTokenAsync")]
    public ValueTask<string> PasswordProviderAsync() => _provider.GenerateTokenAsync();

    private sealed class TokenRequest : AmazonWebServiceRequest;

    private sealed class TokenClientConfig : ClientConfig
    {
        public TokenClientConfig() : base(null)
        {
            RegionEndpoint = RegionEndpoint.USEast1;
        }

        public override string RegionEndpointServiceName => "dsql";

        public override string ServiceVersion => "2018-05-10";

        public override string UserAgent => "dsql-benchmark";

        public override Amazon.Runtime.Endpoints.Endpoint DetermineServiceOperationEndpoint(Amazon.Runtime.Endpoints.ServiceOperationEndpointParameters parameters)
            => new("https://" + Host);
    }
}
