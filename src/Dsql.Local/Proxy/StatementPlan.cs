namespace Dsql.Local.Proxy;

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

    /// <summary>An emulator-injected statement whose whole answer is hidden from the client.</summary>
    public bool Hidden { get; init; }
}
