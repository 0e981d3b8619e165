namespace Dsql.Local.Rules;

/// <summary>What one client statement becomes on the backend, and how its answer is shaped on the way back.</summary>
internal sealed class StatementPlan
{
    /// <summary>A statement forwarded unchanged and unchecked.</summary>
    public static StatementPlan PassThrough(string sql) => new() { BackendSql = sql };

    /// <summary>The SQL sent to the backend.</summary>
    public required string BackendSql { get; init; }

    /// <summary>The command tag the client sees instead of the backend's, e.g. <c>CREATE INDEX</c> for an async index build.</summary>
    public string? TagOverride { get; init; }

    /// <summary>Run the transaction row-limit check right after this statement (DML).</summary>
    public bool CheckRowLimit { get; init; }

    /// <summary>The statement's kind for DSQL's transaction rules.</summary>
    public StatementKind Kind { get; init; }

    /// <summary>The tables it writes (DML) or changes (DDL).</summary>
    public IReadOnlyList<string> Tables { get; init; } = [];

    /// <summary>How to answer it when it meets a row another transaction holds.</summary>
    public ConflictProbe? Probe { get; init; }

    /// <summary>Answer this error instead of the backend's completion (a COMMIT that loses a conflict runs ROLLBACK on the backend).</summary>
    public PgError? ErrorInsteadOfCompletion { get; init; }

    /// <summary>A <c>BEGIN</c>: the relay takes the snapshot and sets the emulator's savepoint right after it.</summary>
    public bool PinSnapshot { get; init; }

    /// <summary>An emulator-injected statement whose whole answer is hidden from the client.</summary>
    public bool Hidden { get; init; }
}

/// <summary>How the relay answers a backend error of a client statement (see <see cref="SessionPlanner.Classify"/>).</summary>
internal enum ConflictHandling
{
    /// <summary>Translated into DSQL's error and relayed.</summary>
    Translate,

    /// <summary>
    /// The write met rows another open transaction holds: rolled back to the emulator's savepoint, answered from its
    /// probe, and deferred to COMMIT, where it is replayed if this transaction commits first.
    /// </summary>
    Defer,

    /// <summary>A transaction that committed after this one's snapshot changed the rows: answered from the probe, fails at COMMIT.</summary>
    Doom,

    /// <summary>An autocommit write or a schema change: it commits first, so the open transactions holding what it needs are evicted and it runs again.</summary>
    Retry,
}
