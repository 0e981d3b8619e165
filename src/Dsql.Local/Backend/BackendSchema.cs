namespace Dsql.Local.Backend;

/// <summary>
/// The objects the emulator keeps in its backend: the <c>admin</c> role, DSQL's <c>sys</c> schema (<c>sys.jobs</c>,
/// <c>sys.wait_for_job</c>, <c>sys.iam_pg_role_mappings</c>) and the <c>dsql_local</c> helpers its statement rewrites call.
/// Idempotent; run by the backend's superuser (the service role).
/// </summary>
/// <remarks>
/// Client sessions log in to the backend as their own role, never as a superuser: <c>admin</c> is an ordinary role that owns
/// the <c>public</c> schema and may create schemas, as on DSQL. What must stay out of reach of every role (host programs,
/// server files, advisory locks, notifications, <c>set_config</c>) is not executable by <c>PUBLIC</c>, and the emulator's own
/// machinery that needs more than the caller has runs in <c>SECURITY DEFINER</c> functions owned by the service role.
/// <c>admin</c> has no <c>CREATEROLE</c>: on PostgreSQL 15 that attribute would let it grant itself
/// <c>pg_execute_server_program</c>; roles are created and dropped through <c>dsql_local.create_role</c>/<c>drop_role</c> instead.
/// </remarks>
internal static class BackendSchema
{
    /// <summary>Functions DSQL refuses, by name: not executable by any client role (see <see cref="Rules.PrivilegeErrors"/>).</summary>
    public static readonly IReadOnlyList<string> RefusedFunctions =
    [
        "pg_advisory_lock", "pg_advisory_lock_shared", "pg_advisory_unlock", "pg_advisory_unlock_shared", "pg_advisory_unlock_all",
        "pg_advisory_xact_lock", "pg_advisory_xact_lock_shared", "pg_try_advisory_lock", "pg_try_advisory_lock_shared",
        "pg_try_advisory_xact_lock", "pg_try_advisory_xact_lock_shared", "pg_notify", "pg_listening_channels",
        "pg_notification_queue_usage", "set_config", "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file",
        "pg_ls_logdir", "pg_ls_waldir", "pg_ls_tmpdir", "pg_ls_archive_statusdir", "pg_ls_logicalsnapdir", "pg_ls_logicalmapdir",
        "pg_ls_replslotdir", "lo_import", "lo_export", "pg_file_write", "pg_file_rename", "pg_file_unlink", "pg_logdir_ls",
        "pg_reload_conf", "pg_rotate_logfile", "pg_current_logfile",
    ];

    /// <summary>PostgreSQL's <c>FirstNormalObjectId</c>: every object created after <c>initdb</c> has an oid at least this.</summary>
    public const int FirstUserOid = 16384;

    public static readonly string Sql = $$"""
        DO $bootstrap$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'admin') THEN
                CREATE ROLE admin LOGIN;
            END IF;
            -- A data directory from an older emulator may hold a superuser admin.
            ALTER ROLE admin NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS LOGIN;
            EXECUTE format('GRANT CREATE ON DATABASE %I TO admin', current_database());
            ALTER SCHEMA public OWNER TO admin;
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
        CREATE INDEX IF NOT EXISTS jobs_pending ON dsql_local.jobs (job_id) WHERE status IN ('submitted', 'processing');

        CREATE OR REPLACE VIEW sys.jobs AS
            SELECT job_id, status, details, job_type, class_id, object_id, object_name, start_time, update_time FROM dsql_local.jobs;
        GRANT SELECT ON sys.jobs TO PUBLIC;

        -- DSQL job IDs: 26 characters of lower-case base32.
        -- plpgsql rather than sql here and below for what runs on every index job: a sql function with a SET clause or
        -- called from plpgsql is parsed and planned again on every call.
        CREATE OR REPLACE FUNCTION dsql_local.new_job_id() RETURNS text LANGUAGE plpgsql VOLATILE AS $f$
        BEGIN
            RETURN (SELECT string_agg(substr('abcdefghijklmnopqrstuvwxyz234567', 1 + floor(random() * 32)::int, 1), '')
                    FROM generate_series(1, 26));
        END
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
        -- SECURITY DEFINER: pg_stat_force_next_flush is the service role's; the counters read are this backend's own.
        -- Runs after every write: the user's tables are read through pg_class's oid index, never by scanning the whole
        -- catalog (see dsql_local.create_index_async on why the planner must not be trusted with catalog scans here).
        CREATE OR REPLACE FUNCTION dsql_local.check_row_limit() RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET enable_seqscan = off AS $f$
        BEGIN
            -- Pending statistics outlive the transaction until they are flushed at the next idle moment; force that flush,
            -- so the per-transaction counters below start from zero in the next transaction.
            PERFORM pg_catalog.pg_stat_force_next_flush();
            IF (SELECT coalesce(sum(pg_catalog.pg_stat_get_xact_tuples_inserted(c.oid) + pg_catalog.pg_stat_get_xact_tuples_updated(c.oid)
                                    + pg_catalog.pg_stat_get_xact_tuples_deleted(c.oid)), 0)
                FROM pg_catalog.pg_class c
                WHERE c.relkind IN ('r', 'p') AND c.oid >= {{FirstUserOid}} AND c.relnamespace <> 'dsql_local'::regnamespace) > 3000 THEN
                RAISE EXCEPTION USING ERRCODE = '54000', MESSAGE = 'transaction row limit exceeded';
            END IF;
        END
        $f$;

        -- The bytes this transaction wrote so far, against DSQL's 10 MiB limit: the size of every row version an INSERT,
        -- UPDATE, upsert or COPY produced (pg_column_size of the row as the statement built it: new values uncompressed,
        -- values an UPDATE left untouched as stored), summed in a transaction-local setting by a statement-level trigger
        -- on each user table. The statement that crosses the limit fails, and with it the transaction.
        -- SECURITY DEFINER: set_config is not executable by client roles.
        CREATE OR REPLACE FUNCTION dsql_local.account_written_size() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
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

        -- DSQL's per-row limits, checked on each row an INSERT, UPDATE, upsert or COPY is about to write (before PostgreSQL's
        -- own index-size checks): the columns of a primary key or of an index together at most 1 KiB ('key size too
        -- large'), a column that is not part of an index at most 1 MiB ('maximum column size exceeded'), the row at most
        -- 2 MiB ('maximum row size exceeded'), all 54000. Sizes are pg_column_size of the values as the statement built them.
        -- Only rows over 1 KiB get here (the trigger's WHEN), so small rows cost one size check in the executor.
        CREATE OR REPLACE FUNCTION dsql_local.row_quota_query(rel oid) RETURNS text
        LANGUAGE sql STABLE SET search_path = pg_catalog AS $f$
            WITH keys AS (
                SELECT i.indexrelid, string_agg(format('coalesce(pg_catalog.pg_column_size(w.%I), 0)', a.attname), ' + ') AS size
                FROM pg_index i
                JOIN LATERAL unnest(i.indkey[0:i.indnkeyatts - 1]) k(attnum) ON k.attnum > 0
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE i.indrelid = rel
                GROUP BY i.indexrelid),
            plain AS (
                SELECT format('coalesce(pg_catalog.pg_column_size(w.%I), 0)', a.attname) AS size
                FROM pg_attribute a
                WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
                  AND NOT EXISTS (SELECT FROM pg_index i WHERE i.indrelid = rel AND a.attnum = ANY (i.indkey[0:i.indnkeyatts - 1])))
            SELECT format('SELECT CASE WHEN %s THEN %L WHEN %s THEN %L WHEN pg_catalog.pg_column_size($1) > 2097152 THEN %L END FROM (SELECT ($1).*) w',
                          coalesce((SELECT string_agg('(' || size || ') > 1024', ' OR ') FROM keys), 'false'), 'key size too large',
                          coalesce((SELECT string_agg(size || ' > 1048576', ' OR ') FROM plain), 'false'), 'maximum column size exceeded',
                          'maximum row size exceeded')
        $f$;

        CREATE OR REPLACE FUNCTION dsql_local.check_row_quotas() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
        DECLARE
            violation text;
        BEGIN
            EXECUTE dsql_local.row_quota_query(TG_RELID) INTO violation USING NEW;
            IF violation IS NOT NULL THEN
                RAISE EXCEPTION USING ERRCODE = '54000', MESSAGE = violation;
            END IF;
            RETURN NEW;
        END
        $f$;

        -- Puts the write triggers (transaction size, per-row limits) on one user table (ordinary, permanent, not a
        -- partition); idempotent. The emulator's DDL event trigger (see QuotaSchema) calls it for each table a statement creates.
        CREATE OR REPLACE FUNCTION dsql_local.track_written_size(rel oid) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET enable_seqscan = off AS $f$
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
            IF NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = rel AND tgname = 'dsql_local_row_quotas') THEN
                EXECUTE format('CREATE TRIGGER dsql_local_row_quotas BEFORE INSERT OR UPDATE ON %s FOR EACH ROW WHEN (pg_catalog.pg_column_size(NEW.*) > 1024) EXECUTE FUNCTION dsql_local.check_row_quotas()',
                               rel::regclass);
            END IF;
        END
        $f$;

        DO $bootstrap$
        BEGIN
            -- Older emulators had an event trigger of their own for this; the DDL event trigger of QuotaSchema replaces it.
            DROP EVENT TRIGGER IF EXISTS dsql_local_create_table;
            DROP FUNCTION IF EXISTS dsql_local.on_create_table();
            -- Tables that existed before the emulator (a kept data directory, an existing backend).
            PERFORM dsql_local.track_written_size(c.oid) FROM pg_class c WHERE c.relkind = 'r' AND c.oid >= {{FirstUserOid}};
        END
        $bootstrap$;

        -- Records a job (as the service role: dsql_local.jobs is not writable by clients).
        CREATE OR REPLACE FUNCTION dsql_local.record_job(id text, status text, details text, job_type text, idx oid) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET enable_seqscan = off AS $f$
        BEGIN
            INSERT INTO dsql_local.jobs (job_id, status, details, job_type, class_id, object_id, object_name)
            VALUES (id, status, details, job_type, CASE WHEN idx IS NOT NULL THEN 'pg_class'::regclass END, idx,
                    (SELECT relname FROM pg_class WHERE oid = idx));
        END
        $f$;

        -- Leaves a just-built index invalid (not usable, as on DSQL) until its job completes; only for the caller's own tables.
        CREATE OR REPLACE FUNCTION dsql_local.defer_index(idx oid) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET enable_seqscan = off AS $f$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                           WHERE i.indexrelid = idx AND pg_has_role(session_user, t.relowner, 'USAGE')) THEN
                RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'must be owner of the index''s table';
            END IF;
            UPDATE pg_index SET indisvalid = false WHERE indexrelid = idx;
        END
        $f$;

        -- CREATE INDEX ASYNC: builds the index in the caller's transaction with the caller's privileges, leaves it invalid
        -- until its job completes, and answers the job ID.
        -- Generic plans here and in sys.wait_for_job, as in the DDL event trigger (QuotaSchema): planned once per session.
        -- No sequential scans in the emulator's catalog lookups (here and in every helper the DDL path calls): DDL-heavy test
        -- suites churn pg_class, pg_index and pg_trigger far faster than autovacuum tidies them, so their statistics describe a
        -- table a fraction of its real size, and a planner that trusts them scans the whole bloated catalog (tens of thousands
        -- of dead row versions) where a key lookup would do: about 750 such scans for 50 tables with an index each, before.
        CREATE OR REPLACE FUNCTION dsql_local.create_index_async(ddl text, tbl text) RETURNS text
        LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $f$
        DECLARE
            before oid[];
            idx oid;
            id text := dsql_local.new_job_id();
        BEGIN
            SELECT coalesce(array_agg(indexrelid), '{}') INTO before FROM pg_catalog.pg_index WHERE indrelid = tbl::regclass;
            EXECUTE ddl;
            SELECT indexrelid INTO idx FROM pg_catalog.pg_index WHERE indrelid = tbl::regclass AND NOT indexrelid = ANY (before) LIMIT 1;
            IF idx IS NOT NULL THEN
                PERFORM dsql_local.defer_index(idx);
            END IF;
            PERFORM dsql_local.record_job(id, CASE WHEN idx IS NULL THEN 'completed' ELSE 'submitted' END, NULL, 'INDEX_BUILD', idx);
            RETURN id;
        END
        $f$;

        -- ALTER TABLE ASYNC … VALIDATE CONSTRAINT: validates now (as the caller) and records the job; a violation fails the
        -- job, not the statement.
        CREATE OR REPLACE FUNCTION dsql_local.validate_constraint_async(ddl text) RETURNS text
        LANGUAGE plpgsql AS $f$
        DECLARE
            id text := dsql_local.new_job_id();
        BEGIN
            BEGIN
                EXECUTE ddl;
                PERFORM dsql_local.record_job(id, 'completed', NULL, 'VALIDATE_CONSTRAINT', NULL);
            EXCEPTION WHEN others THEN
                PERFORM dsql_local.record_job(id, 'failed', SQLERRM, 'VALIDATE_CONSTRAINT', NULL);
            END;
            RETURN id;
        END
        $f$;

        -- Emulator-only test hook, not part of DSQL: how long CALL sys.wait_for_job blocks before completing the job of an
        -- index with this name, so that tests can make an index build last (a long build on a large table). Written only
        -- by the backend's superuser; clients cannot read or change it.
        CREATE TABLE IF NOT EXISTS dsql_local.job_wait_delays (
            object_name text PRIMARY KEY,
            delay interval NOT NULL);

        -- Completes submitted index builds: the index becomes valid (usable) and the job 'completed'.
        CREATE OR REPLACE FUNCTION dsql_local.complete_jobs(only_job text, older_than interval) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog SET enable_seqscan = off AS $f$
        DECLARE
            done integer := 0;
            job record;
        BEGIN
            -- One job by its key (sys.wait_for_job) or the pending ones through their partial index (the job loop): the
            -- table keeps every job ever run, and a plan that scans it would slow every wait as jobs accumulate.
            FOR job IN SELECT * FROM dsql_local.jobs j
                       WHERE j.job_id = ANY (CASE WHEN only_job IS NOT NULL THEN ARRAY[only_job]
                                                  ELSE ARRAY(SELECT p.job_id FROM dsql_local.jobs p WHERE p.status IN ('submitted', 'processing')) END)
                         AND status IN ('submitted', 'processing') AND start_time <= now() - older_than
                         -- A job held by the test hook above completes only through sys.wait_for_job.
                         AND (only_job IS NOT NULL OR NOT EXISTS (SELECT FROM dsql_local.job_wait_delays d WHERE d.object_name = j.object_name))
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

        CREATE OR REPLACE PROCEDURE sys.wait_for_job(job_id text) LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog
        SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $f$
        DECLARE
            hold interval;
        BEGIN
            IF job_id IS NULL OR job_id !~ '^[a-z2-7]{26}$' THEN
                RAISE EXCEPTION USING ERRCODE = '22P02', MESSAGE = 'Unable to convert text to UUID';
            END IF;
            SELECT d.delay INTO hold FROM dsql_local.job_wait_delays d JOIN dsql_local.jobs j ON j.object_name = d.object_name
            WHERE j.job_id = wait_for_job.job_id;
            IF hold IS NOT NULL THEN
                PERFORM pg_sleep(extract(epoch FROM hold));
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

        -- DSQL's role model: roles created by admin, mapped to IAM identities with AWS IAM GRANT.
        CREATE SEQUENCE IF NOT EXISTS dsql_local.iam_oid_seq START 26000;
        CREATE TABLE IF NOT EXISTS dsql_local.iam_role_mappings (
            iam_oid oid PRIMARY KEY DEFAULT nextval('dsql_local.iam_oid_seq')::oid,
            arn text NOT NULL,
            pg_role_oid oid NOT NULL,
            grantor_pg_role_oid oid NOT NULL,
            UNIQUE (arn, pg_role_oid));

        CREATE OR REPLACE VIEW sys.iam_pg_role_mappings AS
            SELECT m.iam_oid, m.arn, m.pg_role_oid, r.rolname AS pg_role_name, m.grantor_pg_role_oid, g.rolname AS grantor_pg_role_name
            FROM dsql_local.iam_role_mappings m
            JOIN pg_catalog.pg_roles r ON r.oid = m.pg_role_oid
            LEFT JOIN pg_catalog.pg_roles g ON g.oid = m.grantor_pg_role_oid;
        GRANT SELECT ON sys.iam_pg_role_mappings TO PUBLIC;

        -- A role a client may create, map or log in as: not admin, not the service role, not a predefined or privileged role.
        CREATE OR REPLACE FUNCTION dsql_local.is_client_role(role_name text) RETURNS boolean
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $f$
            SELECT EXISTS (SELECT FROM pg_authid a WHERE a.rolname = role_name AND a.rolname <> 'admin' AND a.rolname !~ '^pg_'
                           AND NOT a.rolsuper AND NOT a.rolcreaterole AND NOT a.rolcreatedb AND NOT a.rolreplication AND NOT a.rolbypassrls)
        $f$;

        CREATE OR REPLACE FUNCTION dsql_local.require_admin(action text) RETURNS void
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $f$
        BEGIN
            IF session_user <> 'admin' THEN
                RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format('permission denied to %s', action);
            END IF;
        END
        $f$;

        -- CREATE ROLE by admin (rewritten to CALL): an ordinary role (LOGIN or not); admin may grant it and become it, as its creator.
        CREATE OR REPLACE PROCEDURE dsql_local.create_role(role_name text, login boolean)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
        BEGIN
            PERFORM dsql_local.require_admin('create role');
            EXECUTE format('CREATE ROLE %I WITH %s NOSUPERUSER NOCREATEROLE NOCREATEDB NOREPLICATION NOBYPASSRLS',
                           role_name, CASE WHEN login THEN 'LOGIN' ELSE 'NOLOGIN' END);
            EXECUTE format('GRANT %I TO admin WITH ADMIN OPTION', role_name);
        END
        $f$;

        -- DROP ROLE by admin: only roles a client could create, and not while an IAM identity is mapped to it.
        CREATE OR REPLACE PROCEDURE dsql_local.drop_role(role_names text[], if_exists boolean)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
        DECLARE
            role_name text;
        BEGIN
            PERFORM dsql_local.require_admin('drop role');
            FOREACH role_name IN ARRAY role_names LOOP
                IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
                    IF if_exists THEN
                        RAISE NOTICE USING ERRCODE = '42704', MESSAGE = format('role "%s" does not exist, skipping', role_name);
                        CONTINUE;
                    END IF;
                    RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('role "%s" does not exist', role_name);
                END IF;
                IF NOT dsql_local.is_client_role(role_name) THEN
                    RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format('permission denied to drop role "%s"', role_name);
                END IF;
                IF EXISTS (SELECT FROM dsql_local.iam_role_mappings m JOIN pg_roles r ON r.oid = m.pg_role_oid WHERE r.rolname = role_name) THEN
                    RAISE EXCEPTION USING ERRCODE = '2BP01', MESSAGE = format('role "%s" cannot be dropped because some objects depend on it', role_name),
                        DETAIL = 'it is mapped to an IAM identity; AWS IAM REVOKE it first';
                END IF;
                EXECUTE format('DROP ROLE %I', role_name);
            END LOOP;
        END
        $f$;

        -- AWS IAM GRANT role TO 'arn' / AWS IAM REVOKE role FROM 'arn'.
        CREATE OR REPLACE PROCEDURE dsql_local.aws_iam_grant(role_name text, iam_arn text)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
        DECLARE
            role_oid oid;
        BEGIN
            PERFORM dsql_local.require_admin('grant IAM role mappings');
            SELECT oid INTO role_oid FROM pg_roles WHERE rolname = role_name;
            IF role_oid IS NULL THEN
                RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('role "%s" does not exist', role_name);
            END IF;
            IF NOT dsql_local.is_client_role(role_name) THEN
                RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = format('permission denied to grant IAM access to role "%s"', role_name);
            END IF;
            IF iam_arn !~ '^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:[A-Za-z0-9+=,.@_/*-]+$' THEN
                RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('invalid IAM ARN "%s"', iam_arn);
            END IF;
            INSERT INTO dsql_local.iam_role_mappings (arn, pg_role_oid, grantor_pg_role_oid)
            VALUES (iam_arn, role_oid, (SELECT oid FROM pg_roles WHERE rolname = session_user))
            ON CONFLICT (arn, pg_role_oid) DO NOTHING;
        END
        $f$;

        CREATE OR REPLACE PROCEDURE dsql_local.aws_iam_revoke(role_name text, iam_arn text)
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
        BEGIN
            PERFORM dsql_local.require_admin('revoke IAM role mappings');
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
                RAISE EXCEPTION USING ERRCODE = '42704', MESSAGE = format('role "%s" does not exist', role_name);
            END IF;
            DELETE FROM dsql_local.iam_role_mappings m USING pg_roles r
            WHERE r.oid = m.pg_role_oid AND r.rolname = role_name AND m.arn = iam_arn;
        END
        $f$;

        -- What stays out of every client role's reach: host programs and server files (already superuser-only), advisory
        -- locks, notifications and set_config (executable by PUBLIC on PostgreSQL), listed in RefusedFunctions.
        DO $bootstrap$
        DECLARE
            f regprocedure;
        BEGIN
            FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
                     WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = ANY (string_to_array(current_setting('dsql_local.refused_functions'), ','))
            LOOP
                EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
            END LOOP;
            -- The emulator's privileged helpers are called by its own SECURITY DEFINER functions, not by clients.
            REVOKE EXECUTE ON FUNCTION dsql_local.track_written_size(oid), dsql_local.complete_jobs(text, interval) FROM PUBLIC;
            REVOKE EXECUTE ON PROCEDURE dsql_local.create_role(text, boolean), dsql_local.drop_role(text[], boolean),
                dsql_local.aws_iam_grant(text, text), dsql_local.aws_iam_revoke(text, text) FROM PUBLIC;
            GRANT EXECUTE ON PROCEDURE dsql_local.create_role(text, boolean), dsql_local.drop_role(text[], boolean),
                dsql_local.aws_iam_grant(text, text), dsql_local.aws_iam_revoke(text, text) TO admin;
        END
        $bootstrap$;
        """;
}
