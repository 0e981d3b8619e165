namespace Dsql.Local.Rules;

/// <summary>Where one transaction stands for DSQL's commit-order rules.</summary>
internal enum TransactionState
{
    Open,

    /// <summary>Its COMMIT has been admitted: it commits before anyone who has not yet started committing.</summary>
    Committing,

    Committed,

    /// <summary>Rolled back, failed, or evicted by an earlier committer.</summary>
    Ended,
}

/// <summary>
/// One transaction of one session, as other sessions see it when they meet its rows: whether it is still open, committing
/// or over, and which tables it wrote (the fallback when the rows' holder cannot be told).
/// </summary>
internal sealed class TransactionToken(IOccParticipant? session)
{
    private readonly HashSet<string> _tables = new(StringComparer.Ordinal);
    private volatile TransactionState _state;

    public IOccParticipant? Session { get; } = session;

    public TransactionState State
    {
        get => _state;
        set => _state = value;
    }

    /// <summary>Whether it committed, or was admitted to commit: an earlier committer than anyone still open.</summary>
    public bool Won => _state is TransactionState.Committing or TransactionState.Committed;

    public void AddTables(IEnumerable<string> tables)
    {
        lock (_tables)
        {
            _tables.UnionWith(tables);
        }
    }

    public bool Touches(IEnumerable<string> tables)
    {
        lock (_tables)
        {
            return tables.Any(_tables.Contains);
        }
    }
}

/// <summary>A session that takes part in commit-order adjudication: another session's earlier commit can evict its transaction.</summary>
internal interface IOccParticipant
{
    /// <summary>The session's transaction rules.</summary>
    SessionPlanner? Planner { get; }

    /// <summary>
    /// Ends <paramref name="token"/>'s transaction on the backend (releasing its row locks) and fails its COMMIT with
    /// <paramref name="reason"/>: an earlier committer won. False when the session stayed busy too long to be evicted;
    /// true when the transaction is over either way (check <see cref="TransactionToken.State"/>).
    /// </summary>
    Task<bool> EvictAsync(TransactionToken token, Protocol.PgError reason, CancellationToken cancellationToken);
}

/// <summary>
/// A write that met a row another open transaction holds: DSQL lets it proceed and decides at COMMIT, so the emulator
/// keeps it to replay then, with the transactions that held the rows.
/// </summary>
/// <param name="Sql">The statement's backend SQL.</param>
/// <param name="ParameterTypes">Extended protocol: the Parse's parameter types; null for a simple query.</param>
/// <param name="Bind">Extended protocol: the execution's Bind; null for a simple query.</param>
/// <param name="Holders">The open transactions that held the rows when the write met them.</param>
internal sealed record PendingWrite(string Sql, byte[]? ParameterTypes, byte[]? Bind, IReadOnlyList<TransactionToken> Holders);
