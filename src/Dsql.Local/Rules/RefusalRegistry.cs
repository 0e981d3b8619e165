using System.Collections.Concurrent;

namespace Dsql.Local.Rules;

/// <summary>
/// Turns a refusal decided by the emulator into a statement that fails on the backend at parse time, in its place in the
/// pipeline, so PostgreSQL itself discards messages until <c>Sync</c> and aborts an open transaction exactly as for a real
/// error; on the way back the backend's "relation does not exist" for the marker is replaced by the DSQL error.
/// </summary>
internal sealed class RefusalRegistry
{
    private const string MarkerPrefix = "dsql_local_refused_";
    private readonly ConcurrentDictionary<long, PgError> _pending = new();
    private long _nextId;

    /// <summary>Registers <paramref name="error"/> and returns the SQL that makes the backend fail in its place.</summary>
    public string Register(PgError error)
    {
        var id = Interlocked.Increment(ref _nextId);
        _pending[id] = error;
        // Answers for statements the backend skipped (after an earlier error) never come back: forget old ones.
        if (_pending.Count > 256)
        {
            foreach (var stale in _pending.Keys.Where(k => k < id - 256))
            {
                _pending.TryRemove(stale, out _);
            }
        }

        return $"SELECT FROM \"{MarkerPrefix}{id.ToString(CultureInfo.InvariantCulture)}\"";
    }

    /// <summary>Returns the DSQL error a backend error stands for, or <see langword="null"/> when it is a genuine error.</summary>
    public PgError? Translate(PgError backendError)
    {
        if (backendError.SqlState != "42P01")
        {
            return null;
        }

        var message = backendError.Message;
        var start = message.IndexOf(MarkerPrefix, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        var digits = message.AsSpan(start + MarkerPrefix.Length);
        var end = digits.IndexOf('"');
        if (end < 0 || !long.TryParse(digits[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return null;
        }

        return _pending.TryRemove(id, out var error) ? error : null;
    }
}
