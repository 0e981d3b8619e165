using System.Globalization;

namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     The statements of the migration lock: one lease row in <c>__EFMigrationsLock</c>, taken and renewed under DSQL's
///     optimistic concurrency (no <c>LOCK TABLE</c>, no advisory locks). The row also records how far the holder got in the
///     migration it is applying, so that whoever takes over an expired lease resumes where the crashed holder stopped.
///     Every statement is one autocommitted statement (or joins the data transaction it is issued in).
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed class DsqlMigrationLockSql(string delimitedTable, string delimitedPrimaryKeyName, TimeSpan lease)
{
    /// <summary>The default name of the lock table, next to <c>__EFMigrationsHistory</c>.</summary>
    public const string DefaultTableName = "__EFMigrationsLock";

    private string Expiry
        => $"now() + interval '{((long)Math.Ceiling(lease.TotalSeconds)).ToString(CultureInfo.InvariantCulture)} seconds'";

    /// <summary>Creates the lock table when it is missing.</summary>
    public string CreateTableIfNotExists
        => $"""
            CREATE TABLE IF NOT EXISTS {delimitedTable} (
                "Id" integer NOT NULL,
                "Holder" text NOT NULL,
                "ExpiresAt" timestamp with time zone NOT NULL,
                "MigrationId" text,
                "Step" integer NOT NULL,
                CONSTRAINT {delimitedPrimaryKeyName} PRIMARY KEY ("Id")
            );
            """;

    /// <summary>
    ///     Takes the lease when nobody holds it or its holder's lease expired; answers one row (the progress the previous
    ///     holder recorded) when taken, no row when another migrator holds it.
    /// </summary>
    public string Acquire(string holder)
        => $"""
            INSERT INTO {delimitedTable} AS lock ("Id", "Holder", "ExpiresAt", "Step")
            VALUES (1, {Literal(holder)}, {Expiry}, 0)
            ON CONFLICT ("Id") DO UPDATE SET "Holder" = EXCLUDED."Holder", "ExpiresAt" = EXCLUDED."ExpiresAt"
            WHERE lock."ExpiresAt" < now()
            RETURNING "MigrationId", "Step";
            """;

    /// <summary>Records progress and renews the lease; touches no row when the lease was lost.</summary>
    public string RecordProgress(string holder, string? migrationId, int step)
        => $"""UPDATE {delimitedTable} SET "MigrationId" = {(migrationId is null ? "NULL" : Literal(migrationId))}, "Step" = {step.ToString(CultureInfo.InvariantCulture)}, "ExpiresAt" = {Expiry} WHERE "Id" = 1 AND "Holder" = {Literal(holder)};""";

    /// <summary>Renews the lease without touching the progress; touches no row when the lease was lost.</summary>
    public string Renew(string holder)
        => $"""UPDATE {delimitedTable} SET "ExpiresAt" = {Expiry} WHERE "Id" = 1 AND "Holder" = {Literal(holder)};""";

    /// <summary>Gives the lease up, keeping the recorded progress for the next holder.</summary>
    public string Release(string holder)
        => $"""UPDATE {delimitedTable} SET "Holder" = '', "ExpiresAt" = now() WHERE "Id" = 1 AND "Holder" = {Literal(holder)};""";

    private static string Literal(string value)
        => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
