namespace EFCore.Dsql.FunctionalTests.Npgsql;

/// <summary>Fixed example credentials that count how often, and on which path, they are asked for.</summary>
internal sealed class CountingCredentials() : AWSCredentials
{
    private readonly ImmutableCredentials _credentials = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", null);
    private int _syncCalls;
    private int _asyncCalls;

    public int SyncCalls => Volatile.Read(ref _syncCalls);

    public int AsyncCalls => Volatile.Read(ref _asyncCalls);

    public int Calls => SyncCalls + AsyncCalls;

    public override ImmutableCredentials GetCredentials()
    {
        Interlocked.Increment(ref _syncCalls);
        return _credentials.Copy();
    }

    public override Task<ImmutableCredentials> GetCredentialsAsync()
    {
        Interlocked.Increment(ref _asyncCalls);
        return Task.FromResult(_credentials.Copy());
    }
}

internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
