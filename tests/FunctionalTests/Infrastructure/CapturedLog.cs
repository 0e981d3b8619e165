using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>A logger factory that keeps every message it receives, for tests asserting what the emulator logged.</summary>
public sealed class CapturedLog : ILoggerProvider, ILogger
{
    private readonly ConcurrentQueue<string> _lines = new();

    /// <summary>A factory whose loggers all write here; give it to <c>DsqlLocalOptions.LoggerFactory</c>.</summary>
    public ILoggerFactory Factory => field ??= LoggerFactory.Create(logging => logging.AddProvider(this));

    /// <summary>The messages so far, in order.</summary>
    public IReadOnlyList<string> Lines => [.. _lines];

    ILogger ILoggerProvider.CreateLogger(string categoryName) => this;

    IDisposable? ILogger.BeginScope<TState>(TState state) => null;

    bool ILogger.IsEnabled(LogLevel logLevel) => true;

    void ILogger.Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => _lines.Enqueue(formatter(state, exception));

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
