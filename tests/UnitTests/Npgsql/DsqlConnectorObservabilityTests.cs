using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace EFCore.Dsql.UnitTests.Npgsql;

/// <summary>The connector's meter (<c>Dsql.Npgsql</c>) and logs: what they report, and that no token or secret reaches a log.</summary>
[Collection(AwsEnvironmentCollection.Name)]
public sealed class DsqlConnectorObservabilityTests
{
    private const string Endpoint = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws";
    private const string SecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    [Fact]
    public async Task Token_generation_is_counted_and_timed_on_the_Dsql_Npgsql_meter()
    {
        using var env = new AwsEnvironmentScope();
        using var listener = new InstrumentRecorder("Dsql.Npgsql");
        var provider = new DsqlAuthTokenProvider(DsqlConnectionOptions.Parse(Endpoint).WithCredentials(new BasicAWSCredentials("AKIDEXAMPLE", SecretKey)));

        provider.GenerateToken();
        await provider.GenerateTokenAsync();

        var tokens = listener.For("dsql.npgsql.tokens.generated").Where(m => Equals(m.Tags["server.address"], Endpoint)).ToList();
        Assert.Equal(2, tokens.Sum(m => m.Value));
        Assert.All(tokens, m => Assert.Equal("admin", m.Tags["dsql.token.kind"]));
        Assert.Equal(2, listener.For("dsql.npgsql.token.generation.duration").Count(m => Equals(m.Tags["server.address"], Endpoint) && m.Value >= 0));
    }

    [Fact]
    public void Credential_resolution_failure_is_counted_and_logged_without_secrets()
    {
        using var env = new AwsEnvironmentScope();
        using var listener = new InstrumentRecorder("Dsql.Npgsql");
        var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));

        Assert.Throws<ArgumentException>(() => new DsqlAuthTokenProvider(DsqlConnectionOptions.Parse(Endpoint).WithProfile("missing"), loggerFactory));

        var failure = Assert.Single(listener.For("dsql.npgsql.credentials.resolution.failures"));
        Assert.Equal("profile", failure.Tags["dsql.credential.source"]);
        Assert.Contains(logs.Messages, m => m.Category == "Dsql.Npgsql" && m.Level == LogLevel.Error && m.Text.Contains(Endpoint, StringComparison.Ordinal));
    }

    [Fact]
    public void Logs_name_the_credential_source_and_token_lifetime_but_never_the_token_or_the_secret()
    {
        using var env = new AwsEnvironmentScope();
        var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var options = DsqlConnectionOptions.Parse(Endpoint).WithUsername("app_user").WithTokenDuration(TimeSpan.FromMinutes(5))
            .WithCredentials(new SessionAWSCredentials("AKIDEXAMPLE", SecretKey, "session-token-value"));

        var token = new DsqlAuthTokenProvider(options, loggerFactory).GenerateToken();

        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Information && m.Text.Contains("the credentials given in the options (SessionAWSCredentials)", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Level == LogLevel.Debug && m.Text.Contains("role app_user", StringComparison.Ordinal) && m.Text.Contains("valid for 300 s", StringComparison.Ordinal));
        var all = string.Join("\n", logs.Messages.Select(m => m.Text));
        Assert.DoesNotContain(token, all, StringComparison.Ordinal);
        Assert.DoesNotContain("X-Amz-Signature", all, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretKey, all, StringComparison.Ordinal);
        Assert.DoesNotContain("session-token-value", all, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_chain_source_is_logged_once_with_the_credential_type()
    {
        using var env = new AwsEnvironmentScope().Set("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE").Set("AWS_SECRET_ACCESS_KEY", SecretKey);
        var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var provider = new DsqlAuthTokenProvider(DsqlConnectionOptions.Parse(Endpoint), loggerFactory);

        provider.GenerateToken();
        provider.GenerateToken();

        var resolved = Assert.Single(logs.Messages, m => m.Text.Contains("default credential chain", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Information, resolved.Level);
    }
}

/// <summary>Collects the measurements of one meter's instruments while it lives.</summary>
public sealed class InstrumentRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();

    public InstrumentRecorder(string meterName)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == meterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Add(instrument, value, tags));
        _listener.Start();
    }

    public IReadOnlyList<(double Value, Dictionary<string, object?> Tags)> For(string instrument)
        => _measurements.Where(m => m.Instrument == instrument).Select(m => (m.Value, m.Tags)).ToList();

    public void Dispose() => _listener.Dispose();

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        _measurements.Enqueue((instrument.Name, value, copy));
    }
}

/// <summary>Keeps every log message written through it.</summary>
public sealed class ListLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, string Text)> Messages { get; } = new();

    public ILogger CreateLogger(string categoryName) => new ListLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
            => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => provider.Messages.Enqueue((category, logLevel, formatter(state, exception) + (exception is null ? "" : "\n" + exception.Message)));
    }
}
