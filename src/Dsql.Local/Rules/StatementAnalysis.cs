namespace Dsql.Local.Rules;

/// <summary>What the dialect makes of one statement: its kind, a refusal, or the backend SQL that emulates it.</summary>
internal sealed record StatementAnalysis(StatementKind Kind, string BackendSql)
{
    /// <summary>The DSQL error to answer instead of running the statement.</summary>
    public PgError? Refusal { get; init; }

    /// <summary>The command tag DSQL answers with when the backend's differs.</summary>
    public string? TagOverride { get; init; }

    /// <summary>How to answer the statement when it meets a row held by another transaction (see <see cref="ConflictProbe"/>).</summary>
    public ConflictProbe? Probe { get; init; }

    /// <summary>A COMMIT that loses: answered with this error after the backend rolls back.</summary>
    public PgError? CommitError { get; init; }

    /// <summary>The statement calls <c>dsql_local.inject_conflict()</c>: the session's next commit fails with OC000.</summary>
    public bool InjectsConflict { get; init; }

    /// <summary>The statement writes rows (checked against the per-transaction row limit).</summary>
    public bool Writes => Kind == StatementKind.Dml && !IsCopy;

    /// <summary>COPY … FROM STDIN: DML for the transaction rules, but its rows are not counted (the check cannot run mid-copy).</summary>
    public bool IsCopy { get; init; }

    /// <summary>The tables the statement writes or whose schema it changes (lower-case, unqualified), for conflict tracking.</summary>
    public IReadOnlyList<string> Tables { get; init; } = [];

    public static StatementAnalysis Refuse(StatementKind kind, string sqlState, string message)
        => new(kind, "") { Refusal = new PgError("ERROR", sqlState, message) };
}
