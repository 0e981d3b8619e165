using System.Collections.Concurrent;

namespace Dsql.Local.Rules;

/// <summary>
/// Server-wide optimistic-concurrency state: which tables had their schema changed and when (for OC001), and conflicts
/// injected for retry tests (for OC000).
/// </summary>
internal sealed class ConflictCoordinator
{
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
}
