namespace Dsql.Local.Proxy;

/// <summary>
/// The statements sent to the backend between two <c>ReadyForQuery</c> messages (one simple <c>Query</c>, or the extended
/// messages up to a <c>Sync</c>), in order. The backend answers each executed statement with exactly one completion
/// (<c>CommandComplete</c>, <c>EmptyQueryResponse</c>, <c>PortalSuspended</c>) or an error that ends the cycle, so answers are
/// matched to plans by position even when the client pipelines.
/// </summary>
internal sealed class ResponseCycle
{
    private readonly List<StatementPlan> _statements = [];
    private int _next;

    /// <summary>Hide every answer of this cycle, including its <c>ReadyForQuery</c> (emulator-internal round trips).</summary>
    public bool Hidden { get; init; }

    public void Add(StatementPlan plan)
    {
        lock (_statements)
        {
            _statements.Add(plan);
        }
    }

    /// <summary>The plan the next completion belongs to, if known.</summary>
    public StatementPlan? Current
    {
        get
        {
            lock (_statements)
            {
                return _next < _statements.Count ? _statements[_next] : null;
            }
        }
    }

    public void Advance()
    {
        lock (_statements)
        {
            _next++;
        }
    }
}
