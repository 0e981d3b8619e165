namespace Microsoft.EntityFrameworkCore.Dsql.Diagnostics.Internal;

/// <summary>Logs EFCore.Dsql events through EF Core's diagnostics pipeline.</summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public static class DsqlLoggerExtensions
{
    private static readonly Func<LogLevel, Action<ILogger, string, int, int, double, Exception?>> RetryingLogAction =
        level => LoggerMessage.Define<string, int, int, double>(
            level,
            DsqlEventId.ExecutionStrategyRetrying,
            "Aurora DSQL reported a retryable failure ({Error}); retry {Retry} of {MaxRetries} after {DelayMilliseconds} ms.");

    /// <summary>Logs <see cref="DsqlEventId.ExecutionStrategyRetrying"/>.</summary>
    /// <param name="diagnostics">The logger.</param>
    /// <param name="exceptionsEncountered">The failures so far, the last one being the one retried now.</param>
    /// <param name="error">The SQLSTATE and DSQL code of the failure (no message text, which may echo user data).</param>
    /// <param name="retry">The one-based retry number.</param>
    /// <param name="maxRetries">The retry limit.</param>
    /// <param name="delay">The delay before the retry.</param>
    public static void DsqlExecutionStrategyRetrying(
        this IDiagnosticsLogger<DbLoggerCategory.Infrastructure> diagnostics,
        IReadOnlyList<Exception> exceptionsEncountered,
        string error,
        int retry,
        int maxRetries,
        TimeSpan delay)
    {
        var definition = new EventDefinition<string, int, int, double>(
            diagnostics.Options,
            DsqlEventId.ExecutionStrategyRetrying,
            LogLevel.Information,
            "DsqlEventId.ExecutionStrategyRetrying",
            RetryingLogAction);

        var milliseconds = Math.Round(delay.TotalMilliseconds, 1);
        if (diagnostics.ShouldLog(definition))
        {
            // The exception is not attached: its message is not ours to vouch for (tokens never reach it, but user data may).
            definition.Log(diagnostics, error, retry, maxRetries, milliseconds);
        }

        if (diagnostics.NeedsEventData(definition, out var diagnosticSourceEnabled, out var simpleLogEnabled))
        {
            var eventData = new ExecutionStrategyEventData(
                definition,
                (d, _) => ((EventDefinition<string, int, int, double>)d).GenerateMessage(error, retry, maxRetries, milliseconds),
                exceptionsEncountered,
                delay,
                async: true);
            diagnostics.DispatchEventData(definition, eventData, diagnosticSourceEnabled, simpleLogEnabled);
        }
    }
}
