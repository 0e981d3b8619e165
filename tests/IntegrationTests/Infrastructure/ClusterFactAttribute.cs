using System.ComponentModel;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace EFCore.Dsql.IntegrationTests.Infrastructure;

/// <summary>
/// A fact that runs against the cluster and may find, while running, that it cannot apply to it (a form the target
/// cannot serve, an identity that may not create roles): it then calls <see cref="Skip.Because"/> and is reported as
/// skipped with that reason, not as passed.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
[XunitTestCaseDiscoverer("EFCore.Dsql.IntegrationTests.Infrastructure.ClusterFactDiscoverer", "EFCore.Dsql.IntegrationTests")]
public sealed class ClusterFactAttribute : FactAttribute;

/// <summary>Ends a test as skipped, with the reason printed in the results.</summary>
public static class Skip
{
    /// <summary>Stops the test here and reports it skipped because of <paramref name="reason"/>.</summary>
    /// <exception cref="SkipException">Always.</exception>
    public static void Because(string reason) => throw new SkipException(reason);

    /// <summary>Skips the test when <paramref name="reason"/> is not null.</summary>
    public static void When(string? reason)
    {
        if (reason is not null)
        {
            Because(reason);
        }
    }
}

/// <summary>Thrown by <see cref="Skip"/>; the test case turns it into a skip.</summary>
public sealed class SkipException(string reason) : Exception(reason);

/// <summary>Discovers <see cref="ClusterFactAttribute"/> tests as <see cref="SkippableTestCase"/>s.</summary>
public sealed class ClusterFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    /// <inheritdoc />
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
        => [new SkippableTestCase(diagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod)];
}

/// <summary>A test case that reports a <see cref="SkipException"/> as a skip.</summary>
public sealed class SkippableTestCase : XunitTestCase
{
    /// <summary>For the deserializer.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public SkippableTestCase()
    {
    }

    /// <summary>Creates the test case.</summary>
    public SkippableTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay display, TestMethodDisplayOptions displayOptions, ITestMethod testMethod)
        : base(diagnosticMessageSink, display, displayOptions, testMethod)
    {
    }

    /// <inheritdoc />
    public override async Task<RunSummary> RunAsync(
        IMessageSink diagnosticMessageSink, IMessageBus messageBus, object[] constructorArguments, ExceptionAggregator aggregator, CancellationTokenSource cancellationTokenSource)
    {
        var bus = new SkippingMessageBus(messageBus);
        var summary = await base.RunAsync(diagnosticMessageSink, bus, constructorArguments, aggregator, cancellationTokenSource);
        summary.Failed -= bus.Skipped;
        summary.Skipped += bus.Skipped;
        return summary;
    }

    private sealed class SkippingMessageBus(IMessageBus inner) : IMessageBus
    {
        public int Skipped { get; private set; }

        public bool QueueMessage(IMessageSinkMessage message)
        {
            if (message is ITestFailed failed && failed.ExceptionTypes.FirstOrDefault() == typeof(SkipException).FullName)
            {
                Skipped++;
                return inner.QueueMessage(new TestSkipped(failed.Test, failed.Messages.FirstOrDefault()));
            }

            return inner.QueueMessage(message);
        }

        public void Dispose() => inner.Dispose();
    }
}
