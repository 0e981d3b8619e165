namespace Dsql.Local.Backend;

/// <summary>
/// DSQL's schema quotas, checked on the catalog effect of each DDL statement inside the backend, in the statement's own
/// transaction: a statement that would exceed a quota fails with DSQL's SQLSTATE and message and nothing of it remains.
/// Limits and wording from AWS's "Cluster quotas and database limits in Amazon Aurora DSQL" (database limits table).
/// </summary>
internal static class QuotaSchema
{
    /// <summary>Columns per table.</summary>
    public const int MaxColumns = 255;

    /// <summary>Key columns per primary key or index.</summary>
    public const int MaxKeyColumns = 8;

    /// <summary>Indexes per table (the primary key is the table's own key, not one of them).</summary>
    public const int MaxIndexes = 24;

    public static readonly string Sql = $$"""
        CREATE SCHEMA IF NOT EXISTS dsql_local;

        CREATE OR REPLACE FUNCTION dsql_local.check_table_quotas(rel oid) RETURNS void
        LANGUAGE plpgsql SET search_path = pg_catalog AS $f$
        BEGIN
            IF (SELECT count(*) FROM pg_attribute WHERE attrelid = rel AND attnum > 0 AND NOT attisdropped) > {{MaxColumns}} THEN
                RAISE EXCEPTION 'tables can have at most {{MaxColumns}} columns' USING ERRCODE = '54011';
            END IF;
            IF EXISTS (SELECT FROM pg_index WHERE indrelid = rel AND indnkeyatts > {{MaxKeyColumns}}) THEN
                RAISE EXCEPTION 'more than {{MaxKeyColumns}} column keys in an index are not supported' USING ERRCODE = '54011';
            END IF;
            IF (SELECT count(*) FROM pg_index WHERE indrelid = rel AND NOT indisprimary) > {{MaxIndexes}} THEN
                RAISE EXCEPTION 'more than {{MaxIndexes}} indexes per table are not allowed' USING ERRCODE = '54000';
            END IF;
        END
        $f$;

        CREATE OR REPLACE FUNCTION dsql_local.on_ddl_quotas() RETURNS event_trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
        DECLARE
            changed record;
        BEGIN
            FOR changed IN
                SELECT DISTINCT CASE WHEN c.relkind = 'i' THEN i.indrelid ELSE c.oid END AS rel
                FROM pg_event_trigger_ddl_commands() d
                JOIN pg_class c ON c.oid = d.objid
                LEFT JOIN pg_index i ON i.indexrelid = c.oid
                WHERE d.classid = 'pg_class'::regclass AND c.relkind IN ('r', 'p', 'i')
            LOOP
                PERFORM dsql_local.check_table_quotas(changed.rel);
            END LOOP;
        END
        $f$;

        DO $bootstrap$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'dsql_local_quotas') THEN
                CREATE EVENT TRIGGER dsql_local_quotas ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE INDEX')
                    EXECUTE FUNCTION dsql_local.on_ddl_quotas();
            END IF;
        END
        $bootstrap$;
        """;
}
