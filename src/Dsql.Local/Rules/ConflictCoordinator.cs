using System.Collections.Concurrent;

namespace Dsql.Local.Rules;

/// <summary>
/// Server-wide optimistic-concurrency state: which tables had their schema changed and when (for OC001), and conflicts
/// injected for retry tests (for OC000), the sessions by backend process (to find who holds a row), and the commit gate
/// that puts commit-time decisions (replaying deferred writes, evicting later committers) in one order.
/// </summary>
internal sealed class ConflictCoordinator
{
    private readonly ConcurrentDictionary<int, IOccParticipant> _participants = new();

    private readonly ConcurrentDictionary<string, (long Version, object Session)> _schemaChanges = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private long _version;
    private int _pendingInjections;
    private string? _injectionApplication;

    public long CurrentVersion => Interlocked.Read(ref _version);

    public void RecordSchemaChange(IEnumerable<string> tables, object session)
    {
        var version = Interlocked.Increment(ref _version);
        foreach (var table in tables)
        {
            _schemaChanges[table] = (version, session);
        }
    }

    /// <summary>Whether another session changed the schema of one of <paramref name="tables"/> after <paramref name="since"/>.</summary>
    public bool SchemaChangedSince(IEnumerable<string> tables, long since, object session)
        => tables.Any(t => _schemaChanges.TryGetValue(t, out var change) && change.Version > since && !ReferenceEquals(change.Session, session));

    /// <summary>Makes the next <paramref name="count"/> commits (of sessions with that application name, when given) fail with OC000.</summary>
    public void Inject(int count, string? applicationName)
    {
        lock (_gate)
        {
            _pendingInjections = count;
            _injectionApplication = applicationName;
        }
    }

    public bool TryConsumeInjection(string? applicationName)
    {
        lock (_gate)
        {
            if (_pendingInjections <= 0 || (_injectionApplication is not null && _injectionApplication != applicationName))
            {
                return false;
            }

            _pendingInjections--;
            return true;
        }
    }

    /// <summary>Held while one session decides a commit against others (replays, evictions): decisions happen in commit order.</summary>
    public SemaphoreSlim CommitGate { get; } = new(1, 1);

    /// <summary>How long a decision waits for the gate or for a busy session before the deciding transaction gives up and loses.</summary>
    public static readonly TimeSpan DecisionPatience = TimeSpan.FromSeconds(3);

    public void Register(int backendPid, IOccParticipant session) => _participants[backendPid] = session;

    public void Unregister(int backendPid, IOccParticipant session) => _participants.TryRemove(new KeyValuePair<int, IOccParticipant>(backendPid, session));

    /// <summary>The open transactions of the sessions whose backend processes are <paramref name="pids"/>.</summary>
    public List<TransactionToken> OpenTransactionsOf(IEnumerable<int> pids, IOccParticipant self)
        => pids.Select(p => _participants.GetValueOrDefault(p))
            .Where(s => s is not null && !ReferenceEquals(s, self))
            .Select(s => s!.Planner?.OpenTransaction)
            .OfType<TransactionToken>()
            .Distinct()
            .ToList();

    /// <summary>The open transactions (other than <paramref name="self"/>'s) that wrote one of <paramref name="tables"/>.</summary>
    public List<TransactionToken> OpenTransactionsTouching(IReadOnlyList<string> tables, IOccParticipant self)
        => _participants.Values
            .Where(s => !ReferenceEquals(s, self))
            .Select(s => s.Planner?.OpenTransaction)
            .OfType<TransactionToken>()
            .Where(t => t.Touches(tables))
            .Distinct()
            .ToList();
}
