namespace Dsql.Local.Backend;

/// <summary>
/// The objects the emulator keeps in its backend: the <c>admin</c> role, DSQL's <c>sys</c> schema (<c>sys.jobs</c>,
/// <c>sys.wait_for_job</c>) and the <c>dsql_local</c> helpers its statement rewrites call. Idempotent.
/// </summary>
internal static class BackendSchema
{
    public const string Sql = """
        DO $bootstrap$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'admin') THEN
                CREATE ROLE admin SUPERUSER;
            END IF;
        END
        $bootstrap$;

        CREATE SCHEMA IF NOT EXISTS dsql_local;
        CREATE SCHEMA IF NOT EXISTS sys;
        GRANT USAGE ON SCHEMA dsql_local, sys TO PUBLIC;

        CREATE TABLE IF NOT EXISTS dsql_local.jobs (
            job_id text PRIMARY KEY,
            status text NOT NULL,
            details text,
            job_type text NOT NULL,
            class_id oid,
            object_id oid,
            object_name text,
            start_time timestamptz NOT NULL DEFAULT now(),
            update_time timestamptz NOT NULL DEFAULT now());

        CREATE OR REPLACE VIEW sys.jobs AS
            SELECT job_id, status, details, job_type, class_id, object_id, object_name, start_time, update_time FROM dsql_local.jobs;
        GRANT SELECT ON sys.jobs TO PUBLIC;

        -- DSQL job IDs: 26 characters of lower-case base32.
        CREATE OR REPLACE FUNCTION dsql_local.new_job_id() RETURNS text LANGUAGE sql VOLATILE AS $f$
            SELECT string_agg(substr('abcdefghijklmnopqrstuvwxyz234567', 1 + floor(random() * 32)::int, 1), '')
            FROM generate_series(1, 26)
        $f$;

        CREATE OR REPLACE FUNCTION dsql_local.version() RETURNS text LANGUAGE sql STABLE AS $f$
            SELECT 'PostgreSQL 16.15 on Aurora DSQL (Dsql.Local emulator over ' || split_part(pg_catalog.version(), ' ', 2) || ')'
        $f$;

        CREATE OR REPLACE FUNCTION dsql_local.current_setting(name text) RETURNS text LANGUAGE sql STABLE AS $f$
            SELECT CASE lower(name)
                WHEN 'server_version' THEN '16.15'
                WHEN 'server_version_num' THEN '160015'
                ELSE pg_catalog.current_setting(name) END
        $f$;

        CREATE OR REPLACE FUNCTION dsql_local.current_setting(name text, missing_ok boolean) RETURNS text LANGUAGE sql STABLE AS $f$
            SELECT CASE lower(name)
                WHEN 'server_version' THEN '16.15'
                WHEN 'server_version_num' THEN '160015'
                ELSE pg_catalog.current_setting(name, missing_ok) END
        $f$;

        -- The rows this transaction inserted, updated or deleted so far, against DSQL's 3,000-row limit.
        CREATE OR REPLACE FUNCTION dsql_local.check_row_limit() RETURNS void LANGUAGE plpgsql AS $f$
        BEGIN
            -- Pending statistics outlive the transaction until they are flushed at the next idle moment; force that flush,
            -- so the per-transaction counters below start from zero in the next transaction.
            PERFORM pg_catalog.pg_stat_force_next_flush();
            IF (SELECT coalesce(sum(pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid) + pg_catalog.pg_stat_get_xact_tuples_updated(c.oid)
                                    + pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid)), 0)
                FROM pg_catalog.pg_class c
                WHERE c.relkind IN ('r', 'p') AND c.oid >= 16384 AND c.relnamespace <> 'dsql_local'::regnamespace) > 3000 THEN
                RAISE EXCEPTION USING ERRCODE = '54000', MESSAGE = 'transaction row limit exceeded';
            END IF;
        END
        $f$;

        -- The bytes this transaction wrote so far, against DSQL's 10 MiB limit: the size of every row version an INSERT,
        -- UPDATE, upsert or COPY produced (pg_column_size of the row as the statement built it: new values uncompressed,
        -- values an UPDATE left untouched as stored), summed in a transaction-local setting by a statement-level trigger
        -- on each user table. The statement that crosses the limit fails, and with it the transaction.
        CREATE OR REPLACE FUNCTION dsql_local.account_written_size() RETURNS trigger LANGUAGE plpgsql AS $f$
        DECLARE
            total bigint;
        BEGIN
            SELECT coalesce(nullif(pg_catalog.current_setting('dsql_local.written_bytes', true), ''), '0')::bigint
                   + coalesce(sum(pg_catalog.pg_column_size(w.*)), 0)
            INTO total FROM dsql_local_written w;
            PERFORM pg_catalog.set_config('dsql_local.written_bytes', total::text, true);
            IF total > 10485760 THEN
                RAISE EXCEPTION USING ERRCODE = '54000', MESSAGE = 'transaction size limit 10mb exceeded';
            END IF;
            RETURN NULL;
        END
        $f$;

        -- Puts the size-accounting triggers on one user table (ordinary, permanent, not a partition); idempotent.
        CREATE OR REPLACE FUNCTION dsql_local.track_written_size(rel oid) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
        DECLARE
            op text;
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = rel AND c.relkind = 'r' AND c.relpersistence = 'p' AND NOT c.relispartition
                           AND c.relnamespace NOT IN ('dsql_local'::regnamespace, 'pg_catalog'::regnamespace, 'information_schema'::regnamespace)) THEN
                RETURN;
            END IF;
            FOREACH op IN ARRAY ARRAY['insert', 'update'] LOOP
                IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = rel AND tgname = 'dsql_local_size_' || op) THEN
                    EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s REFERENCING NEW TABLE AS dsql_local_written FOR EACH STATEMENT EXECUTE FUNCTION dsql_local.account_written_size()',
                                   'dsql_local_size_' || op, upper(op), rel::regclass);
                END IF;
            END LOOP;
        END
        $f$;

        CREATE OR REPLACE FUNCTION dsql_local.on_create_table() RETURNS event_trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
        DECLARE
            created record;
        BEGIN
            FOR created IN SELECT objid FROM pg_event_trigger_ddl_commands() WHERE object_type = 'table' LOOP
                PERFORM dsql_local.track_written_size(created.objid);
            END LOOP;
        END
        $f$;

        DO $bootstrap$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'dsql_local_create_table') THEN
                CREATE EVENT TRIGGER dsql_local_create_table ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
                    EXECUTE FUNCTION dsql_local.on_create_table();
            END IF;
            -- Tables that existed before the emulator (a kept data directory, an existing backend).
            PERFORM dsql_local.track_written_size(c.oid) FROM pg_class c WHERE c.relkind = 'r' AND c.oid >= 16384;
        END
        $bootstrap$;

        -- CREATE INDEX ASYNC: builds the index in the caller's transaction, leaves it invalid (not usable, as on DSQL)
        -- until its job completes, and answers the job ID.
        CREATE OR REPLACE FUNCTION dsql_local.create_index_async(ddl text, tbl text) RETURNS text
        LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $f$
        DECLARE
            before oid[];
            idx oid;
            id text := dsql_local.new_job_id();
        BEGIN
            SELECT coalesce(array_agg(indexrelid), '{}') INTO before FROM pg_index WHERE indrelid = tbl::regclass;
            EXECUTE ddl;
            SELECT indexrelid INTO idx FROM pg_index WHERE indrelid = tbl::regclass AND NOT indexrelid = ANY (before) LIMIT 1;
            IF idx IS NOT NULL THEN
                UPDATE pg_index SET indisvalid = false WHERE indexrelid = idx;
            END IF;
            INSERT INTO dsql_local.jobs (job_id, status, job_type, class_id, object_id, object_name)
            VALUES (id, CASE WHEN idx IS NULL THEN 'completed' ELSE 'submitted' END, 'INDEX_BUILD', 'pg_class'::regclass, idx,
                    (SELECT relname FROM pg_class WHERE oid = idx));
            RETURN id;
        END
        $f$;

        -- ALTER TABLE ASYNC … VALIDATE CONSTRAINT: validates now and records the job; a violation fails the job, not the statement.
        CREATE OR REPLACE FUNCTION dsql_local.validate_constraint_async(ddl text) RETURNS text
        LANGUAGE plpgsql SECURITY DEFINER AS $f$
        DECLARE
            id text := dsql_local.new_job_id();
        BEGIN
            BEGIN
                EXECUTE ddl;
                INSERT INTO dsql_local.jobs (job_id, status, job_type) VALUES (id, 'completed', 'VALIDATE_CONSTRAINT');
            EXCEPTION WHEN others THEN
                INSERT INTO dsql_local.jobs (job_id, status, details, job_type) VALUES (id, 'failed', SQLERRM, 'VALIDATE_CONSTRAINT');
            END;
            RETURN id;
        END
        $f$;

        -- Completes submitted index builds: the index becomes valid (usable) and the job 'completed'.
        CREATE OR REPLACE FUNCTION dsql_local.complete_jobs(only_job text, older_than interval) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER AS $f$
        DECLARE
            done integer := 0;
            job record;
        BEGIN
            FOR job IN SELECT * FROM dsql_local.jobs
                       WHERE status IN ('submitted', 'processing') AND (only_job IS NULL OR job_id = only_job)
                         AND start_time <= now() - older_than
                       FOR UPDATE SKIP LOCKED LOOP
                IF job.object_id IS NOT NULL AND EXISTS (SELECT FROM pg_index WHERE indexrelid = job.object_id) THEN
                    UPDATE pg_index SET indisvalid = true WHERE indexrelid = job.object_id;
                    UPDATE dsql_local.jobs SET status = 'completed', update_time = now() WHERE job_id = job.job_id;
                ELSE
                    UPDATE dsql_local.jobs SET status = 'failed', details = 'the index no longer exists', update_time = now()
                    WHERE job_id = job.job_id;
                END IF;
                done := done + 1;
            END LOOP;
            RETURN done;
        END
        $f$;

        CREATE OR REPLACE PROCEDURE sys.wait_for_job(job_id text) LANGUAGE plpgsql SECURITY DEFINER AS $f$
        BEGIN
            IF job_id IS NULL OR job_id !~ '^[a-z2-7]{26}$' THEN
                RAISE EXCEPTION USING ERRCODE = '22P02', MESSAGE = 'Unable to convert text to UUID';
            END IF;
            PERFORM dsql_local.complete_jobs(job_id, interval '0');
        END
        $f$;
        GRANT EXECUTE ON PROCEDURE sys.wait_for_job(text) TO PUBLIC;

        -- Emulator-only: the proxy sees this call and fails the session's next COMMIT with OC000.
        CREATE OR REPLACE FUNCTION dsql_local.inject_conflict() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN END $f$;

        -- DSQL refuses to drop a primary-key column.
        CREATE OR REPLACE FUNCTION dsql_local.on_sql_drop() RETURNS event_trigger LANGUAGE plpgsql AS $f$
        DECLARE
            dropped record;
        BEGIN
            FOR dropped IN
                SELECT c.address_names[3] AS column_name
                FROM pg_event_trigger_dropped_objects() c
                WHERE c.object_type = 'table column' AND c.original
                  AND EXISTS (SELECT FROM pg_event_trigger_dropped_objects() k
                              WHERE k.object_type = 'table constraint' AND NOT k.original AND k.object_identity LIKE '%_pkey on %')
            LOOP
                RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = format('cannot drop primary key column %s', dropped.column_name);
            END LOOP;
        END
        $f$;

        DO $bootstrap$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_event_trigger WHERE evtname = 'dsql_local_sql_drop') THEN
                CREATE EVENT TRIGGER dsql_local_sql_drop ON sql_drop EXECUTE FUNCTION dsql_local.on_sql_drop();
            END IF;
        END
        $bootstrap$;
        """;
}
