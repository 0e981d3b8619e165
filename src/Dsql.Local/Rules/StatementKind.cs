namespace Dsql.Local.Rules;

/// <summary>How DSQL's transaction rules see a statement.</summary>
internal enum StatementKind
{
    /// <summary>Reads and session utilities (SELECT, SHOW, SET, EXPLAIN, CALL…): no transaction rule applies.</summary>
    Other,

    /// <summary>INSERT, UPDATE, DELETE (also inside a WITH): counts toward the row limit; never mixed with DDL.</summary>
    Dml,

    /// <summary>A schema change: one per transaction, never with DML.</summary>
    Ddl,

    /// <summary>BEGIN / START TRANSACTION.</summary>
    Begin,

    /// <summary>COMMIT / END.</summary>
    Commit,

    /// <summary>ROLLBACK / ABORT.</summary>
    Rollback,
}
