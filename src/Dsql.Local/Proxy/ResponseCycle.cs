using Dsql.Local.Protocol;
using Dsql.Local.Rules;

namespace Dsql.Local.Proxy;

/// <summary>
/// The statements sent to the backend between two <c>ReadyForQuery</c> messages (one simple <c>Query</c>, or the extended
/// messages up to a <c>Sync</c>), in order. The backend answers each executed statement with exactly one completion
/// (<c>CommandComplete</c>, <c>EmptyQueryResponse</c>, <c>PortalSuspended</c>) or an error that ends the cycle, so answers are
/// matched to plans by position even when the client pipelines.
/// </summary>
internal sealed class ResponseCycle
{
    private readonly List<(StatementPlan Plan, Execution? Execution)> _statements = [];
    private int _next;

    /// <summary>Hide every answer of this cycle, including its <c>ReadyForQuery</c> (emulator-internal round trips).</summary>
    public bool Hidden { get; init; }

    /// <summary>Whether it was sent with the simple query protocol.</summary>
    public bool Simple { get; init; }

    /// <summary>An emulator round trip someone awaits: its first error and the first column of its rows are collected.</summary>
    public TaskCompletionSource<HiddenResult>? Completion { get; init; }

    /// <summary>The first error of an awaited round trip.</summary>
    public PgError? Error { get; set; }

    /// <summary>The first column (as text) of every row of an awaited round trip.</summary>
    public List<string?> Values { get; } = [];

    /// <summary>A row description of this cycle already reached the client.</summary>
    public bool Described { get; set; }

    /// <summary>How many client statements (not emulator-injected ones) the cycle holds.</summary>
    public int ClientStatements { get; private set; }

    public void Add(StatementPlan plan, Execution? execution = null)
    {
        lock (_statements)
        {
            _statements.Add((plan, execution));
            if (!plan.Hidden)
            {
                ClientStatements++;
            }
        }
    }

    /// <summary>The plan the next completion belongs to, if known.</summary>
    public StatementPlan? Current
    {
        get
        {
            lock (_statements)
            {
                return _next < _statements.Count ? _statements[_next].Plan : null;
            }
        }
    }

    /// <summary>How the statement the next completion belongs to was executed (extended protocol only).</summary>
    public Execution? CurrentExecution
    {
        get
        {
            lock (_statements)
            {
                return _next < _statements.Count ? _statements[_next].Execution : null;
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

/// <summary>An extended-protocol execution: the statement's parameter types (from Parse) and its Bind message, to re-run a probe with the same parameters.</summary>
internal sealed record Execution(byte[] ParameterTypes, byte[] Bind);

/// <summary>What an awaited emulator round trip answered.</summary>
internal sealed record HiddenResult(PgError? Error, IReadOnlyList<string?> Values);
