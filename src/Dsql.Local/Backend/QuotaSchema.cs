namespace Dsql.Local.Backend;

/// <summary>
/// DSQL's schema quotas, checked on the catalog effect of each DDL statement inside the backend, in the statement's own
/// transaction: a statement that would exceed a quota fails with DSQL's SQLSTATE and message and nothing of it remains.
/// Limits and wording from AWS's "Cluster quotas and database limits in Amazon Aurora DSQL" (database limits table) and
/// "Supported data types in Aurora DSQL" (the <c>numeric</c> default). The per-row limits (key, column and row size)
/// are write triggers, see <see cref="BackendSchema"/>. Runs after <see cref="BackendSchema.Sql"/>.
/// </summary>
internal static class QuotaSchema
{
    /// <summary>Columns per table.</summary>
    public const int MaxColumns = 255;

    /// <summary>Key columns per primary key or index.</summary>
    public const int MaxKeyColumns = 8;

    /// <summary>Indexes per table (the primary key is the table's own key, not one of them).</summary>
    public const int MaxIndexes = 24;

    /// <summary>Schemas per database, counting <c>public</c> (not <c>pg_catalog</c>, <c>information_schema</c>, <c>sys</c>).</summary>
    public const int MaxSchemas = 10;

    /// <summary>Tables per database.</summary>
    public const int MaxTables = 1000;

    /// <summary>Views per database.</summary>
    public const int MaxViews = 5000;

    /// <summary>Sequences per database.</summary>
    public const int MaxSequences = 5000;

    /// <summary>Bytes of a view's definition.</summary>
    public const int MaxViewDefinition = 2 * 1024 * 1024;

    /// <summary>The precision and scale DSQL gives a <c>numeric</c> column declared without them: <c>numeric(18,6)</c>.</summary>
    public const int DefaultNumericPrecision = 18;

    /// <inheritdoc cref="DefaultNumericPrecision"/>
    public const int DefaultNumericScale = 6;

    private const string UserNamespaces = "nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'dsql_local', 'sys')";

    public static readonly string Sql = $$"""
        CREATE SCHEMA IF NOT EXISTS dsql_local;

        -- The one DDL event trigger, driven by what the statement created or changed (pg_event_trigger_ddl_commands, read
        -- once), so each check runs only where the statement could have broken it: per table created or altered, the
        -- numeric default and the write triggers; per table created, altered or given an index, the table quotas; per view,
        -- the definition size; and the per-database counts only when the statement created an object of a counted kind
        -- (an identity or serial column's sequence included), all kinds in one catalog pass. CREATE INDEX, or ALTER TABLE
        -- without a new sequence, counts nothing. The statement's relations are looked up by oid (an index scan: joined to
        -- the set-returning function, pg_class would be scanned whole on every DDL statement), and everything is plpgsql
        -- in one function with generic plans, so each query is planned once per session (plpgsql's default re-plans a
        -- query with parameters on every call when its custom plans look cheaper, as these catalog lookups do). No sequential
        -- scans (see dsql_local.create_index_async): the per-database counts walk pg_class's oid index from the first user oid,
        -- so they read the user's relations, not the whole catalog with every dead row version DDL left in it.
        CREATE OR REPLACE FUNCTION dsql_local.on_ddl_end() RETURNS event_trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $f$
        DECLARE
            changed record;
            created text[];
            relations oid[];
            tables bigint;
            views bigint;
            sequences bigint;
        BEGIN
            SELECT array_agg(DISTINCT d.object_type) FILTER (WHERE d.command_tag LIKE 'CREATE %' OR d.command_tag = 'SELECT INTO'),
                   array_agg(DISTINCT d.objid) FILTER (WHERE d.classid = 'pg_class'::regclass)
            INTO created, relations
            FROM pg_event_trigger_ddl_commands() d;

            FOR changed IN
                SELECT coalesce(i.indrelid, c.oid) AS rel, bool_or(c.relkind IN ('v', 'm')) AS view, bool_or(c.relkind IN ('r', 'p')) AS table_itself
                FROM pg_class c
                LEFT JOIN pg_index i ON i.indexrelid = c.oid
                WHERE c.oid = ANY (relations) AND c.relkind IN ('r', 'p', 'i', 'v', 'm')
                GROUP BY 1
            LOOP
                IF changed.view THEN
                    IF octet_length(pg_get_viewdef(changed.rel)) > {{MaxViewDefinition}} THEN
                        RAISE EXCEPTION 'view definition too large' USING ERRCODE = '54000';
                    END IF;
                    CONTINUE;
                END IF;
                IF changed.table_itself THEN
                    -- Columns and write triggers change only with the table itself (not with an index built on it).
                    -- A numeric column declared without precision gets DSQL's default, numeric(18,6): set on the catalog of
                    -- the columns this transaction created (CREATE TABLE, ALTER TABLE ADD COLUMN), which hold no stored values yet.
                    UPDATE pg_attribute SET atttypmod = (({{DefaultNumericPrecision}} << 16) | {{DefaultNumericScale}}) + 4
                    WHERE attrelid = changed.rel AND attnum > 0 AND NOT attisdropped AND atttypid = 'numeric'::regtype AND atttypmod = -1
                      AND xmin::text = (pg_current_xact_id()::text::bigint % 4294967296)::text;
                    PERFORM dsql_local.track_written_size(changed.rel);
                    IF (SELECT count(*) FROM pg_attribute WHERE attrelid = changed.rel AND attnum > 0 AND NOT attisdropped) > {{MaxColumns}} THEN
                        RAISE EXCEPTION 'tables can have at most {{MaxColumns}} columns' USING ERRCODE = '54011';
                    END IF;
                END IF;
                IF EXISTS (SELECT FROM pg_index WHERE indrelid = changed.rel AND indnkeyatts > {{MaxKeyColumns}}) THEN
                    RAISE EXCEPTION 'more than {{MaxKeyColumns}} column keys in an index are not supported' USING ERRCODE = '54011';
                END IF;
                IF (SELECT count(*) FROM pg_index WHERE indrelid = changed.rel AND NOT indisprimary) > {{MaxIndexes}} THEN
                    RAISE EXCEPTION 'more than {{MaxIndexes}} indexes per table are not allowed' USING ERRCODE = '54000';
                END IF;
            END LOOP;

            IF created IS NULL THEN
                RETURN;
            END IF;
            IF 'schema' = ANY (created) AND (SELECT count(*) FROM pg_namespace WHERE {{UserNamespaces}}) > {{MaxSchemas}} THEN
                RAISE EXCEPTION 'more than {{MaxSchemas}} schemas not allowed' USING ERRCODE = '54000';
            END IF;
            IF created && ARRAY['table', 'view', 'materialized view', 'sequence'] THEN
                SELECT count(*) FILTER (WHERE c.relkind IN ('r', 'p')), count(*) FILTER (WHERE c.relkind IN ('v', 'm')), count(*) FILTER (WHERE c.relkind = 'S')
                INTO tables, views, sequences
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.oid >= {{BackendSchema.FirstUserOid}} AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND {{UserNamespaces}};
                IF 'table' = ANY (created) AND tables > {{MaxTables}} THEN
                    RAISE EXCEPTION 'creating more than {{MaxTables}} tables not allowed' USING ERRCODE = '54000';
                END IF;
                IF created && ARRAY['view', 'materialized view'] AND views > {{MaxViews}} THEN
                    RAISE EXCEPTION 'creating more than {{MaxViews}} views not allowed' USING ERRCODE = '54000';
                END IF;
                IF 'sequence' = ANY (created) AND sequences > {{MaxSequences}} THEN
                    RAISE EXCEPTION 'creating more than {{MaxSequences}} sequences is not allowed' USING ERRCODE = '54000';
                END IF;
            END IF;
        END
        $f$;

        DO $bootstrap$
        BEGIN
            -- Re-created at each start, so a kept data directory gets the current list of statements.
            DROP EVENT TRIGGER IF EXISTS dsql_local_quotas;
            DROP FUNCTION IF EXISTS dsql_local.on_ddl_quotas();
            DROP FUNCTION IF EXISTS dsql_local.check_database_quotas(text);
            DROP FUNCTION IF EXISTS dsql_local.apply_numeric_default(oid);
            DROP FUNCTION IF EXISTS dsql_local.check_table_quotas(oid);
            DROP EVENT TRIGGER IF EXISTS dsql_local_ddl;
            CREATE EVENT TRIGGER dsql_local_ddl ON ddl_command_end
                WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE', 'CREATE INDEX', 'CREATE SCHEMA', 'CREATE VIEW',
                             'CREATE MATERIALIZED VIEW', 'CREATE SEQUENCE')
                EXECUTE FUNCTION dsql_local.on_ddl_end();
        END
        $bootstrap$;
        """;
}
