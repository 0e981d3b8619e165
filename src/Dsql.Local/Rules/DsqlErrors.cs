namespace Dsql.Local.Rules;

/// <summary>
/// DSQL's own errors (with the SQLSTATEs and wording a real cluster answers) and the translation of backend errors that
/// stand for them: the relay passes every backend error through <see cref="SessionPlanner.TranslateBackendError"/>.
/// </summary>
internal static class DsqlErrors
{
    /// <summary>DSQL's answer to the loser of a write conflict.</summary>
    public const string DataConflictMessage = "change conflicts with another transaction (OC000)";

    /// <summary>DSQL's answer when the schema changed under a transaction.</summary>
    public const string SchemaConflictMessage = "schema has been updated by another transaction, please retry: (OC001)";

    /// <summary>DSQL's answer to a statement of a transaction older than the age limit (AWS's documented wording: <c>… of 300s exceeded</c>).</summary>
    public static string AgeLimitMessage(TimeSpan limit) => $"transaction age limit of {limit.TotalSeconds:0}s exceeded";

    public static PgError DataConflict() => new("ERROR", "40001", DataConflictMessage);

    public static PgError SchemaConflict() => new("ERROR", "40001", SchemaConflictMessage);

    public static PgError AgeLimit(TimeSpan limit) => new("ERROR", "54000", AgeLimitMessage(limit));

    /// <summary>Backend errors that mean the statement met a row or lock another transaction holds.</summary>
    public static bool IsWriteConflict(PgError error) => error.SqlState is "55P03" or "40001" or "40P01";

    /// <summary>Drops the PL/pgSQL context of errors the emulator's own backend functions raise.</summary>
    public static PgError Clean(PgError error)
    {
        if (error.Fields.GetValueOrDefault('W') is { } where && (where.Contains("dsql_local.", StringComparison.Ordinal) || where.Contains("sys.wait_for_job", StringComparison.Ordinal)))
        {
            error.Fields.Remove('W');
            error.Fields.Remove('F');
            error.Fields.Remove('L');
            error.Fields.Remove('R');
        }

        return error;
    }
}
