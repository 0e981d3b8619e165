using System.Diagnostics.Metrics;

namespace Dsql.Npgsql.Internal;

/// <summary>
/// The connector's metrics (meter <c>Dsql.Npgsql</c>, documented in docs/observability.md) and log messages. Logs never
/// carry a token, a secret key or a session token: only where credentials came from and how long tokens live.
/// </summary>
internal static class DsqlConnectorTelemetry
{
    internal const string MeterName = "Dsql.Npgsql";
    internal const string LoggerCategory = "Dsql.Npgsql";

    private static readonly Meter Meter = new(MeterName, ConnectorVersion.Version);

    internal static readonly Counter<long> TokensGenerated = Meter.CreateCounter<long>(
        "dsql.npgsql.tokens.generated", "{token}", "IAM auth tokens generated: one per new physical connection.");

    internal static readonly Histogram<double> TokenGenerationDuration = Meter.CreateHistogram<double>(
        "dsql.npgsql.token.generation.duration", "s", "Time to generate an IAM auth token, including resolving the AWS credentials when they are first needed or refreshed.");

    internal static readonly Counter<long> CredentialResolutionFailures = Meter.CreateCounter<long>(
        "dsql.npgsql.credentials.resolution.failures", "{failure}", "Failed attempts to resolve AWS credentials (missing profile, empty default chain, unreachable identity service).");

    private static readonly Action<ILogger, string, string, Exception?> CredentialsResolved = LoggerMessage.Define<string, string>(
        LogLevel.Information, new EventId(1, "CredentialsResolved"), "Aurora DSQL tokens for {Host} are signed with {CredentialSource}.");

    private static readonly Action<ILogger, string, string, Exception?> CredentialsFailed = LoggerMessage.Define<string, string>(
        LogLevel.Error, new EventId(2, "CredentialResolutionFailed"), "Resolving AWS credentials for Aurora DSQL at {Host} from {CredentialSource} failed.");

    private static readonly Action<ILogger, string, string, double, double, Exception?> TokenGenerated = LoggerMessage.Define<string, string, double, double>(
        LogLevel.Debug, new EventId(3, "TokenGenerated"), "Generated an IAM auth token for role {Role} at {Host}, valid for {LifetimeSeconds} s (took {ElapsedMilliseconds} ms).");

    internal static void RecordToken(ILogger? logger, DsqlConnectionOptions options, long startTimestamp)
    {
        var elapsed = Stopwatch.GetElapsedTime(startTimestamp);
        var tags = new TagList { { "dsql.token.kind", options.IsAdmin ? "admin" : "connect" }, { "server.address", options.Host } };
        TokensGenerated.Add(1, tags);
        TokenGenerationDuration.Record(elapsed.TotalSeconds, tags);
        if (logger is not null && logger.IsEnabled(LogLevel.Debug))
        {
            TokenGenerated(logger, options.Username, options.Host, options.TokenDuration.TotalSeconds, Math.Round(elapsed.TotalMilliseconds, 2), null);
        }
    }

    internal static void RecordCredentialsResolved(ILogger? logger, DsqlConnectionOptions options, string source)
    {
        if (logger is not null)
        {
            CredentialsResolved(logger, options.Host, source, null);
        }
    }

    internal static void RecordCredentialFailure(ILogger? logger, DsqlConnectionOptions options, string source, Exception exception)
    {
        CredentialResolutionFailures.Add(1, new TagList { { "dsql.credential.source", source }, { "error.type", exception.GetType().FullName } });
        if (logger is not null)
        {
            // The SDK's and our messages name profiles and files, never key material.
            CredentialsFailed(logger, options.Host, source, exception);
        }
    }
}
