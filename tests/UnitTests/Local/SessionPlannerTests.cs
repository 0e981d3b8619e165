using Dsql.Local.Protocol;

namespace EFCore.Dsql.UnitTests.Local;

public sealed class SessionPlannerTests
{
    private readonly RefusalRegistry _refusals = new();
    private readonly ConflictCoordinator _conflicts = new();

    private SessionPlanner NewPlanner(string? application = null) => new(new DsqlDialect(), _refusals, _conflicts, "admin", application);

    private PgError? RefusalOf(StatementPlan plan)
    {
        if (!plan.BackendSql.StartsWith("SELECT FROM \"dsql_local_refused_", StringComparison.Ordinal))
        {
            return null;
        }

        return _refusals.Translate(new PgError("ERROR", "42P01", $"relation \"{plan.BackendSql.Split('"')[1]}\" does not exist"));
    }

    [Fact]
    public void A_cached_analysis_is_still_judged_against_the_current_transaction()
    {
        var planner = NewPlanner();
        planner.PlanExtended("BEGIN");
        Assert.Null(RefusalOf(planner.PlanExtended("CREATE TABLE a (id int)")));
        // The same text again hits the cache, but the transaction's rules still apply to it.
        Assert.Equal("multiple ddl statements not supported in a transaction", RefusalOf(planner.PlanExtended("CREATE TABLE a (id int)"))?.Message);
        planner.PlanExtended("COMMIT");
        Assert.Null(RefusalOf(planner.PlanExtended("CREATE TABLE a (id int)")));
        Assert.Equal(3, planner.CachedAnalysisCount);
    }

    [Fact]
    public void A_cached_refusal_is_answered_again_on_every_parse()
    {
        var planner = NewPlanner();
        Assert.Equal("unsupported statement: Lock", RefusalOf(planner.PlanExtended("LOCK TABLE t"))?.Message);
        Assert.Equal("unsupported statement: Lock", RefusalOf(planner.PlanExtended("LOCK TABLE t"))?.Message);
        Assert.Equal(1, planner.CachedAnalysisCount);
    }

    [Fact]
    public void The_analysis_cache_is_keyed_by_the_exact_text()
    {
        var planner = NewPlanner();
        var lower = planner.PlanExtended("select 1");
        var upper = planner.PlanExtended("SELECT 1");
        Assert.Equal("select 1", lower.BackendSql);
        Assert.Equal("SELECT 1", upper.BackendSql);
        Assert.Equal(StatementPlan.PassThrough("SELECT 1; SELECT 2").BackendSql, planner.PlanExtended("SELECT 1; SELECT 2").BackendSql);
        Assert.Equal("SELECT 1; SELECT 2", planner.PlanExtended("SELECT 1; SELECT 2").BackendSql);
        Assert.Equal(3, planner.CachedAnalysisCount);
    }

    [Fact]
    public void The_analysis_cache_stays_bounded()
    {
        var planner = NewPlanner();
        for (var i = 0; i < SessionPlanner.MaxCachedAnalyses * 2 + 3; i++)
        {
            planner.PlanExtended($"SELECT {i}");
        }

        Assert.InRange(planner.CachedAnalysisCount, 1, SessionPlanner.MaxCachedAnalyses);
        Assert.Equal("SELECT 7", planner.PlanExtended("SELECT 7").BackendSql);
    }

    [Fact]
    public void Long_texts_are_planned_but_not_kept_in_the_analysis_cache()
    {
        var planner = NewPlanner();
        var longText = "SELECT '" + new string('x', SessionPlanner.MaxCachedTextLength) + "'";
        Assert.Equal(longText, planner.PlanExtended(longText).BackendSql);
        Assert.Equal(0, planner.CachedAnalysisCount);
    }

    [Fact]
    public void Second_ddl_in_a_transaction_is_refused()
    {
        var planner = NewPlanner();
        planner.PlanExtended("BEGIN");
        Assert.Null(RefusalOf(planner.PlanExtended("CREATE TABLE a (id int)")));
        Assert.Equal("multiple ddl statements not supported in a transaction", RefusalOf(planner.PlanExtended("CREATE TABLE b (id int)"))?.Message);
    }

    [Fact]
    public void Dml_after_ddl_and_ddl_after_dml_are_refused()
    {
        var planner = NewPlanner();
        planner.PlanExtended("BEGIN");
        planner.PlanExtended("INSERT INTO a VALUES (1)");
        Assert.Equal("ddl and dml are not supported in the same transaction", RefusalOf(planner.PlanExtended("CREATE TABLE b (id int)"))?.Message);
    }

    [Fact]
    public void Each_autocommit_statement_is_its_own_transaction()
    {
        var planner = NewPlanner();
        planner.PlanExtended("CREATE TABLE a (id int)");
        planner.OnSync();
        Assert.Null(RefusalOf(planner.PlanExtended("INSERT INTO a VALUES (1)")));
    }

    [Fact]
    public void Refused_multi_statement_query_is_answered_with_one_error_and_nothing_runs()
    {
        var (backendSql, plans) = NewPlanner().PlanSimpleQuery("CREATE TABLE a (id int); INSERT INTO a VALUES (1)");
        var plan = Assert.Single(plans);
        Assert.Equal(backendSql, plan.BackendSql);
        Assert.Equal("ddl and dml are not supported in the same transaction", RefusalOf(plan)?.Message);
    }

    [Fact]
    public void Writes_in_a_simple_query_are_followed_by_the_row_limit_check_and_inside_a_block_by_the_savepoint()
    {
        var (backendSql, plans) = NewPlanner().PlanSimpleQuery("BEGIN; INSERT INTO a VALUES (1); COMMIT");
        Assert.Equal("BEGIN;\nSELECT 1;\nSAVEPOINT dsql_local;\nINSERT INTO a VALUES (1);\nSELECT dsql_local.check_row_limit();\nSAVEPOINT dsql_local;\nCOMMIT", backendSql);
        Assert.Same(SessionPlanner.SnapshotPlan, plans[1]);
        Assert.Same(SessionPlanner.RowCheckPlan, plans[4]);
        Assert.Same(SessionPlanner.SavepointPlan, plans[5]);
    }

    [Fact]
    public void An_autocommit_write_has_no_savepoint()
    {
        var (backendSql, _) = NewPlanner().PlanSimpleQuery("UPDATE a SET v = 1 WHERE id = 1");
        Assert.Equal("UPDATE a SET v = 1 WHERE id = 1;\nSELECT dsql_local.check_row_limit()", backendSql);
    }

    [Fact]
    public void Write_conflicts_are_deferred_or_doomed_inside_a_block_and_retried_alone_outside()
    {
        var locked = new PgError("ERROR", "55P03", "could not obtain lock on row in relation \"a\"");
        var changed = new PgError("ERROR", "40001", "could not serialize access due to concurrent update");
        var planner = NewPlanner();
        var update = planner.PlanExtended("UPDATE a SET v = 1 WHERE id = 1");
        Assert.Equal(ConflictHandling.Retry, planner.Classify(locked, update, canProbe: true, sole: true));
        Assert.Equal(ConflictHandling.Translate, planner.Classify(locked, update, canProbe: true, sole: false));
        Assert.Equal(ConflictHandling.Translate, planner.Classify(changed, update, canProbe: true, sole: true));
        planner.OnSync();
        var ddl = planner.PlanExtended("ALTER TABLE a ADD COLUMN b int");
        Assert.Equal(ConflictHandling.Retry, planner.Classify(locked, ddl, canProbe: true, sole: true));
        planner.OnSync();
        planner.PlanExtended("BEGIN");
        update = planner.PlanExtended("UPDATE a SET v = 1 WHERE id = 1");
        Assert.Equal(ConflictHandling.Defer, planner.Classify(locked, update, canProbe: true, sole: false));
        Assert.Equal(ConflictHandling.Doom, planner.Classify(changed, update, canProbe: true, sole: true));
        Assert.Equal(ConflictHandling.Translate, planner.Classify(locked, update, canProbe: false, sole: true));
    }

    [Fact]
    public void A_deferred_write_fails_the_commit_until_it_is_resolved_and_a_resolved_commit_is_the_earlier_committer()
    {
        var planner = NewPlanner();
        planner.PlanExtended("BEGIN");
        planner.PlanExtended("UPDATE a SET v = 1 WHERE id = 1");
        planner.AddPending(new PendingWrite("UPDATE a SET v = 1 WHERE id = 1", null, null, []));
        Assert.True(planner.NeedsCommitResolution);
        Assert.True(planner.IsSoleCommit("COMMIT"));
        Assert.False(planner.IsSoleCommit("UPDATE a SET v = 2; COMMIT"));
        var token = planner.OpenTransaction!;
        Assert.True(planner.CommitResolved());
        Assert.Equal(TransactionState.Committing, token.State);
        Assert.Null(planner.OpenTransaction);
        var commit = planner.PlanExtended("COMMIT");
        Assert.Equal("COMMIT", commit.BackendSql);
        planner.OnCommandComplete(commit);
        Assert.Equal(TransactionState.Committed, token.State);

        planner.PlanExtended("BEGIN");
        planner.AddPending(new PendingWrite("UPDATE a SET v = 1 WHERE id = 1", null, null, []));
        var unresolved = planner.PlanExtended("COMMIT");
        Assert.Equal(("ROLLBACK", "change conflicts with another transaction (OC000)"), (unresolved.BackendSql, unresolved.ErrorInsteadOfCompletion?.Message));
    }

    [Fact]
    public void An_evicted_transaction_fails_at_commit_with_the_evictors_reason()
    {
        var planner = NewPlanner();
        planner.PlanExtended("BEGIN");
        planner.PlanExtended("UPDATE a SET v = 1 WHERE id = 1");
        var token = planner.OpenTransaction!;
        Assert.True(token.Touches(["a"]));
        Assert.True(planner.TryEvict(token, DsqlErrors.SchemaConflict()));
        Assert.False(planner.TryEvict(token, DsqlErrors.DataConflict()));
        Assert.Equal(TransactionState.Ended, token.State);
        Assert.Equal("schema has been updated by another transaction, please retry: (OC001)", planner.PlanExtended("COMMIT").ErrorInsteadOfCompletion?.Message);
    }

    [Theory]
    [InlineData("UPDATE public.a AS x SET v = 1 WHERE id = $1", "SELECT x.xmax::text FROM public.a AS x WHERE id = $1")]
    [InlineData("DELETE FROM a WHERE v = 20", "SELECT a.xmax::text FROM a WHERE v = 20")]
    [InlineData("SELECT * FROM a t WHERE id = 2 FOR UPDATE", "SELECT t.xmax::text FROM a t WHERE id = 2)")]
    [InlineData("SELECT * FROM a JOIN b ON a.id = b.id FOR UPDATE", null)]
    [InlineData("INSERT INTO a VALUES (1)", null)]
    public void The_holder_query_reads_the_xmax_of_the_rows_the_statement_targets(string sql, string? expected)
    {
        var probe = ConflictProbe.For(SqlLexer.Split(sql)[0]);
        if (expected is null)
        {
            Assert.Null(probe?.HolderSql);
        }
        else
        {
            Assert.Contains(expected, probe?.HolderSql, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Conflicted_transaction_rolls_back_at_commit_with_OC000()
    {
        var planner = NewPlanner();
        planner.PlanExtended("BEGIN");
        planner.PlanExtended("UPDATE a SET v = 1");
        planner.MarkConflicted();
        var commit = planner.PlanExtended("COMMIT");
        Assert.Equal("ROLLBACK", commit.BackendSql);
        Assert.Equal("40001", commit.ErrorInsteadOfCompletion?.SqlState);
        Assert.Equal("change conflicts with another transaction (OC000)", commit.ErrorInsteadOfCompletion?.Message);
        planner.PlanExtended("BEGIN");
        Assert.Null(planner.PlanExtended("COMMIT").ErrorInsteadOfCompletion);
    }

    [Fact]
    public void Injected_conflict_fails_the_next_commit_of_the_matching_application_only()
    {
        _conflicts.Inject(1, "retry-test");
        var other = NewPlanner("other");
        other.PlanExtended("BEGIN");
        Assert.Null(other.PlanExtended("COMMIT").ErrorInsteadOfCompletion);

        var target = NewPlanner("retry-test");
        target.PlanExtended("BEGIN");
        Assert.Equal("40001", target.PlanExtended("COMMIT").ErrorInsteadOfCompletion?.SqlState);
        target.PlanExtended("BEGIN");
        Assert.Null(target.PlanExtended("COMMIT").ErrorInsteadOfCompletion);
    }

    [Fact]
    public void Injected_conflict_fails_an_autocommit_write_itself()
    {
        var planner = NewPlanner();
        planner.PlanExtended("SELECT dsql_local.inject_conflict()");
        planner.OnSync();
        Assert.Equal("change conflicts with another transaction (OC000)", RefusalOf(planner.PlanExtended("INSERT INTO a VALUES (1)"))?.Message);
    }

    [Fact]
    public void Schema_change_by_another_session_fails_a_writer_of_that_table_with_OC001()
    {
        var writer = NewPlanner();
        writer.PlanExtended("BEGIN");
        writer.PlanExtended("UPDATE orders SET v = 1");
        var ddl = NewPlanner();
        var alter = ddl.PlanExtended("ALTER TABLE orders ADD COLUMN note text");
        ddl.OnCommandComplete(alter);
        var commit = writer.PlanExtended("COMMIT");
        Assert.Equal("schema has been updated by another transaction, please retry: (OC001)", commit.ErrorInsteadOfCompletion?.Message);
    }

    [Theory]
    [InlineData("COPY t FROM '/etc/passwd'")]
    [InlineData("COPY t TO PROGRAM 'sh'")]
    public void Copy_with_a_server_file_or_program_is_refused(string sql)
        => Assert.Equal("0A000", RefusalOf(NewPlanner().PlanExtended(sql))?.SqlState);

    [Fact]
    public void Copy_from_stdin_is_allowed()
        => Assert.Null(RefusalOf(NewPlanner().PlanExtended("COPY t (a, b) FROM STDIN (FORMAT binary)")));

    [Fact]
    public void Statement_of_a_transaction_older_than_the_age_limit_fails_with_54000_once()
    {
        var time = new ManualTime();
        var planner = new SessionPlanner(new DsqlDialect(), _refusals, _conflicts, "admin", null, TimeSpan.FromSeconds(300), time);
        planner.PlanExtended("BEGIN");
        time.Advance(TimeSpan.FromSeconds(300));
        Assert.Null(RefusalOf(planner.PlanExtended("SELECT 1")));
        time.Advance(TimeSpan.FromSeconds(1));
        var error = RefusalOf(planner.PlanExtended("INSERT INTO a VALUES (1)"));
        Assert.Equal(("54000", "transaction age limit of 300s exceeded"), (error?.SqlState, error?.Message));
        // PostgreSQL answers 25P02 for the aborted transaction from here on; ROLLBACK ends it.
        Assert.Null(RefusalOf(planner.PlanExtended("SELECT 1")));
        Assert.Equal("ROLLBACK", planner.PlanExtended("ROLLBACK").BackendSql);
        planner.PlanExtended("BEGIN");
        Assert.Null(RefusalOf(planner.PlanExtended("SELECT 1")));
    }

    [Fact]
    public void Commit_of_a_transaction_older_than_the_age_limit_rolls_back_and_answers_54000()
    {
        var time = new ManualTime();
        var planner = new SessionPlanner(new DsqlDialect(), _refusals, _conflicts, "admin", null, TimeSpan.FromSeconds(2), time);
        planner.PlanSimpleQuery("BEGIN; INSERT INTO a VALUES (1)");
        time.Advance(TimeSpan.FromSeconds(3));
        var commit = planner.PlanExtended("COMMIT");
        Assert.Equal("ROLLBACK", commit.BackendSql);
        Assert.Equal(("54000", "transaction age limit of 2s exceeded"), (commit.ErrorInsteadOfCompletion?.SqlState, commit.ErrorInsteadOfCompletion?.Message));
        Assert.False(planner.InTransactionBlock);
    }

    [Fact]
    public void Autocommit_statements_and_nested_begin_do_not_restart_the_age()
    {
        var time = new ManualTime();
        var planner = new SessionPlanner(new DsqlDialect(), _refusals, _conflicts, "admin", null, TimeSpan.FromSeconds(10), time);
        Assert.Null(RefusalOf(planner.PlanExtended("SELECT 1")));
        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Null(RefusalOf(planner.PlanExtended("INSERT INTO a VALUES (1)")));
        planner.OnSync();
        planner.PlanExtended("BEGIN");
        time.Advance(TimeSpan.FromSeconds(6));
        planner.PlanExtended("BEGIN");
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal("54000", RefusalOf(planner.PlanExtended("SELECT 1"))?.SqlState);
    }

    [Fact]
    public void A_lock_failure_outside_a_transaction_block_is_answered_as_OC000()
    {
        var planner = NewPlanner();
        var plan = planner.PlanExtended("UPDATE a SET x = 1 WHERE id = 1");
        var error = planner.TranslateBackendError(new PgError("ERROR", "55P03", "could not obtain lock on row in relation \"a\""), plan, canProbe: true);
        Assert.Equal(("40001", "change conflicts with another transaction (OC000)"), (error?.SqlState, error?.Message));
    }

    [Fact]
    public void A_lock_failure_inside_a_block_is_left_to_the_relay_to_answer_from_the_probe()
    {
        var planner = NewPlanner();
        planner.PlanExtended("BEGIN");
        planner.OnReadyForQuery('T', idle: true);
        var plan = planner.PlanExtended("UPDATE a SET x = 1 WHERE id = 1");
        Assert.NotNull(plan.Probe);
        Assert.Null(planner.TranslateBackendError(new PgError("ERROR", "55P03", "could not obtain lock"), plan, canProbe: true));
        Assert.Equal("40001", planner.TranslateBackendError(new PgError("ERROR", "55P03", "could not obtain lock"), plan, canProbe: false)?.SqlState);
    }

    [Fact]
    public void A_lock_wait_of_an_emulator_statement_is_a_schema_conflict_and_a_statement_timeout_the_age_limit()
    {
        var planner = new SessionPlanner(new DsqlDialect(), _refusals, _conflicts, "admin", null, TimeSpan.FromSeconds(300));
        Assert.Equal("schema has been updated by another transaction, please retry: (OC001)",
            planner.TranslateBackendError(new PgError("ERROR", "55P03", "could not obtain lock"), statement: null, canProbe: false)?.Message);
        var timeout = planner.TranslateBackendError(new PgError("ERROR", "57014", "canceling statement due to statement timeout"), statement: null, canProbe: false);
        Assert.Equal(("54000", "transaction age limit of 300s exceeded"), (timeout?.SqlState, timeout?.Message));
    }

    [Fact]
    public void A_refusal_comes_back_from_the_backend_as_its_DSQL_error()
    {
        var planner = NewPlanner();
        var plan = planner.PlanExtended("SAVEPOINT s");
        var marker = plan.BackendSql.Split('"')[1];
        var error = planner.TranslateBackendError(new PgError("ERROR", "42P01", $"relation \"{marker}\" does not exist"), plan, canProbe: false);
        Assert.Equal(("0A000", "unsupported transaction statement: SAVEPOINT"), (error?.SqlState, error?.Message));
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
