using System.CommandLine;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Dsql.Local.Conformance;
using Dsql.Npgsql;
using Npgsql;

namespace Dsql.Local.Cli;

/// <summary>
/// <c>dsql-local record</c>: runs the conformance corpus against a real cluster (or anything that answers like one,
/// such as the emulator) with IAM tokens from the Dsql.Npgsql connector, and writes the answers in the record's format,
/// so the replay test can read them in place of the vendored record.
/// </summary>
internal sealed class RecordCommand : Command
{
    private readonly Option<string> _endpoint = new("--endpoint")
    {
        Description = "the cluster: endpoint host, cluster ID, postgresql:// URI or Npgsql connection string (what DsqlConnectionOptions.Parse accepts)",
        Required = true,
    };

    private readonly Option<string?> _region = new("--region") { Description = "AWS region to sign tokens for (default: from the endpoint, AWS_REGION or the profile)" };
    private readonly Option<string?> _profile = new("--profile") { Description = "AWS profile whose credentials sign the tokens (default: the AWS SDK's credential chain)" };
    private readonly Option<string> _out = new("--out") { Description = "directory to write the record to (<group>.json files and setup.sql)", Required = true };
    private readonly Option<string?> _corpus = new("--corpus") { Description = "a record directory whose probes to run (default: the corpus embedded in dsql-local)" };
    private readonly Option<string?> _compare = new("--compare") { Description = "a record directory to compare the new answers with; prints each case that differs" };

    /// <summary>Defines the command and its options.</summary>
    public RecordCommand()
        : base("record", "Runs the conformance corpus against a real Aurora DSQL cluster with IAM authentication and writes its answers as a conformance record.")
    {
        Options.Add(_endpoint);
        Options.Add(_region);
        Options.Add(_profile);
        Options.Add(_out);
        Options.Add(_corpus);
        Options.Add(_compare);
        SetAction((result, cancellationToken) => RunAsync(
            result.GetValue(_endpoint)!, result.GetValue(_region), result.GetValue(_profile), result.GetValue(_out)!, result.GetValue(_corpus), result.GetValue(_compare),
            Console.Out, Console.Error, cancellationToken));
    }

    /// <summary>Records; 0 when the record was written (whatever it differs in), 1 when recording failed, 2 for bad arguments.</summary>
    public static async Task<int> RunAsync(
        string endpoint, string? region, string? profile, string outDirectory, string? corpusDirectory, string? compareDirectory, TextWriter output, TextWriter error,
        CancellationToken cancellationToken)
    {
        DsqlConnectionOptions options;
        ConformanceRecord corpus;
        ConformanceRecord? baseline;
        try
        {
            options = DsqlConnectionOptions.Parse(endpoint, region);
            if (profile is not null)
            {
                options = options.WithProfile(profile);
            }

            corpus = corpusDirectory is null ? ConformanceRecord.Embedded() : ConformanceRecord.Load(corpusDirectory);
            baseline = compareDirectory is null ? null : ConformanceRecord.Load(compareDirectory);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync("dsql-local record: " + e.Message);
            return 2;
        }

        var tokens = new DsqlAuthTokenProvider(options);
        var tls = TlsOptions(options);
        var runner = new ConformanceRunner(async ct =>
            await RawPgClient.ConnectAsync(options.Host, options.Port, options.Username, await tokens.GenerateTokenAsync(ct), options.Database, tls, ct));
        await output.WriteLineAsync(
            $"Recording {corpus.CaseCount} probes ({corpus.Source}) against {options.Host}:{options.Port} as {options.Username}, region {options.Region}, into {outDirectory}");

        var groups = new List<RecordGroup>();
        try
        {
            await runner.RunSetupAsync(corpus.Setup, cancellationToken);
            var header = new JsonObject
            {
                ["recorded_at"] = DateTime.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                ["target"] = options.IsDsqlEndpoint ? "aurora-dsql" : options.Host,
                ["server_version"] = await runner.ServerVersionAsync(cancellationToken),
            };
            foreach (var group in corpus.Groups)
            {
                var cases = new JsonArray();
                foreach (var testCase in group.Cases)
                {
                    cases.Add(await runner.RecordCaseAsync(testCase, cancellationToken));
                }

                var document = header.DeepClone().AsObject();
                document["suite"] = group.Document["suite"]?.DeepClone();
                document["cases"] = cases;
                groups.Add(new RecordGroup(group.Name, document));
            }

            await ConformanceRecord.WriteAsync(outDirectory, corpus.Setup, groups, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Connector, socket, TLS and login failures: their messages never hold the token or a secret key.
            await error.WriteLineAsync($"dsql-local record: recording failed: {e.Message}");
            return 1;
        }

        var total = groups.Sum(g => g.Cases.Count());
        await output.WriteLineAsync($"Recorded {total} answers in {groups.Count} groups to {outDirectory}");
        if (baseline is not null)
        {
            var differences = Differences(baseline, groups).ToList();
            foreach (var difference in differences)
            {
                await output.WriteLineAsync("  " + difference);
            }

            await output.WriteLineAsync($"{differences.Count} of {total} answers differ from {baseline.Source}");
        }

        return 0;
    }

    /// <summary>One line per recorded case that the baseline answers differently or does not hold.</summary>
    internal static IEnumerable<string> Differences(ConformanceRecord baseline, IEnumerable<RecordGroup> recorded)
    {
        var known = baseline.Groups.SelectMany(g => g.Cases.Select(c => (Key: g.Name + "/" + (string?)c["name"], Case: c))).ToDictionary(p => p.Key, p => p.Case, StringComparer.Ordinal);
        foreach (var group in recorded)
        {
            foreach (var testCase in group.Cases)
            {
                var key = group.Name + "/" + (string?)testCase["name"];
                if (!known.TryGetValue(key, out var expected))
                {
                    yield return $"{key}: not in the baseline";
                }
                else if (RecordComparer.Compare(expected, testCase) is { } difference)
                {
                    yield return $"{key}: {difference}";
                }
            }
        }
    }

    /// <summary>TLS as the connection string asks: none (disable), unverified (require), or verified against the system's or the given root.</summary>
    private static SslClientAuthenticationOptions? TlsOptions(DsqlConnectionOptions options)
    {
        var builder = options.ToNpgsqlConnectionStringBuilder();
        var mode = builder.SslMode;
        if (mode == SslMode.Disable)
        {
            return null;
        }

        var tls = new SslClientAuthenticationOptions { TargetHost = options.Host };
        if (mode is SslMode.Allow or SslMode.Prefer or SslMode.Require)
        {
            tls.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (builder.RootCertificate is { Length: > 0 } rootPath)
        {
            var root = X509CertificateLoader.LoadCertificateFromFile(rootPath);
            var checkName = mode == SslMode.VerifyFull;
            tls.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (checkName && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch)))
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(root);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }
        else if (mode == SslMode.VerifyCA)
        {
            tls.RemoteCertificateValidationCallback = (_, _, _, errors) => (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None;
        }

        return tls;
    }
}
