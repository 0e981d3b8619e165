namespace Dsql.Local.Rules;

/// <summary>
/// One session's view of DSQL's transaction rules: it predicts the transaction state from the statements the client
/// sends (so pipelined statements are judged in order), corrects it from the backend's <c>ReadyForQuery</c>, and plans each
/// statement: forwarded, rewritten, or refused.
/// </summary>
internal sealed class SessionPlanner
{
    /// <summary>The emulator's own prepared statement that enforces the per-transaction row limit.</summary>
    public const string RowCheckStatement = "dsql_local_rowcheck";

    public const string RowCheckSql = "SELECT dsql_local.check_row_limit()";

    public static readonly StatementPlan RowCheckPlan = new() { BackendSql = RowCheckSql, Hidden = true };

    /// <summary>The emulator's prepared statement that takes a transaction's snapshot right at <c>BEGIN</c>, as DSQL does.</summary>
    public const string SnapshotStatement = "dsql_local_snapshot";

    public const string SnapshotSql = "SELECT 1";

    public static readonly StatementPlan SnapshotPlan = new() { BackendSql = SnapshotSql, Hidden = true };

    /// <summary>
    /// The emulator's prepared statement that marks where a transaction stood after its last write: a write that meets a
    /// row another open transaction holds is rolled back to it (the transaction keeps its snapshot and its earlier writes).
    /// </summary>
    public const string SavepointStatement = "dsql_local_savepoint";

    public const string SavepointSql = "SAVEPOINT dsql_local";

    public const string RollbackToSavepointSql = "ROLLBACK TO SAVEPOINT dsql_local";

    public static readonly StatementPlan SavepointPlan = new() { BackendSql = SavepointSql, Hidden = true };

    /// <summary>Distinct Parse texts whose analysis a session keeps.</summary>
    internal const int MaxCachedAnalyses = 256;

    /// <summary>Longer Parse texts (bulk statements with inlined data) are analysed every time rather than kept.</summary>
    internal const int MaxCachedTextLength = 8 * 1024;

    private readonly DsqlDialect _dialect;
    private readonly RefusalRegistry _refusals;
    private readonly ConflictCoordinator _conflicts;
    private readonly object _gate = new();
    private readonly Dictionary<string, StatementAnalysis?> _extendedAnalyses = new(StringComparer.Ordinal);
    private readonly HashSet<string> _writtenTables = new(StringComparer.Ordinal);
    private readonly TimeSpan _maxTransactionAge;
    private readonly TimeProvider _time;
    private bool _inBlock;
    private int _ddlCount;
    private int _dmlCount;
    private readonly List<PendingWrite> _pending = [];
    private PgError? _doom;
    private TransactionToken? _token;
    private TransactionToken? _committing;
    private volatile bool _needsResolution;
    private bool _savepointSet;
    private bool _injected;
    private long _transactionStartVersion;
    private long? _blockStartedAt;
    private bool _ageReported;

    public SessionPlanner(
        DsqlDialect dialect, RefusalRegistry refusals, ConflictCoordinator conflicts, string user, string? applicationName,
        TimeSpan? maxTransactionAge = null, TimeProvider? time = null)
    {
        _dialect = dialect;
        _refusals = refusals;
        _conflicts = conflicts;
        User = user;
        ApplicationName = applicationName;
        _maxTransactionAge = maxTransactionAge ?? DefaultMaxTransactionAge;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>DSQL's transaction age limit: five minutes.</summary>
    public static readonly TimeSpan DefaultMaxTransactionAge = TimeSpan.FromMinutes(5);

    public string User { get; }

    public string? ApplicationName { get; }

    /// <summary>The session whose transactions this planner judges (their tokens name it to other sessions).</summary>
    public IOccParticipant? Participant { get; set; }

    /// <summary>Fails the current transaction at COMMIT (OC000 unless <paramref name="reason"/> says otherwise): it lost a conflict.</summary>
    public void MarkConflicted(PgError? reason = null)
    {
        lock (_gate)
        {
            _doom ??= reason ?? DsqlErrors.DataConflict();
            _pending.Clear();
            _needsResolution = false;
        }
    }

    /// <summary>The session's open explicit transaction, as other sessions see it; null outside a block or once it is decided.</summary>
    public TransactionToken? OpenTransaction
    {
        get
        {
            lock (_gate)
            {
                return _inBlock && _token is { State: TransactionState.Open } token ? token : null;
            }
        }
    }

    /// <summary>Whether the backend transaction has the emulator's savepoint to roll a conflicting write back to.</summary>
    public bool SavepointSet
    {
        get
        {
            lock (_gate)
            {
                return _savepointSet && _inBlock;
            }
        }
    }

    /// <summary>Whether the transaction has deferred writes to decide before its COMMIT (read without locking on every message).</summary>
    public bool NeedsCommitResolution => _needsResolution;

    /// <summary>Defers a write that met rows other open transactions hold: it is replayed when this transaction commits first.</summary>
    public void AddPending(PendingWrite write)
    {
        lock (_gate)
        {
            if (_doom is null && _inBlock)
            {
                _pending.Add(write);
                _needsResolution = true;
            }
        }
    }

    /// <summary>The transaction's deferred writes, in the order they were made.</summary>
    public IReadOnlyList<PendingWrite> PendingWrites
    {
        get
        {
            lock (_gate)
            {
                return [.. _pending];
            }
        }
    }

    /// <summary>
    /// Every deferred write was replayed: the transaction is admitted to commit (from now on it is the earlier committer).
    /// False when it was decided otherwise meanwhile.
    /// </summary>
    public bool CommitResolved()
    {
        lock (_gate)
        {
            if (_doom is not null || !_inBlock || _token is not { State: TransactionState.Open } token)
            {
                return false;
            }

            _pending.Clear();
            _needsResolution = false;
            token.State = TransactionState.Committing;
            _committing = token;
            return true;
        }
    }

    /// <summary>
    /// An earlier committer needs the rows <paramref name="token"/>'s transaction holds: the transaction fails at COMMIT with
    /// <paramref name="reason"/>. False when it is no longer this session's open transaction.
    /// </summary>
    public bool TryEvict(TransactionToken token, PgError reason)
    {
        lock (_gate)
        {
            if (!_inBlock || !ReferenceEquals(_token, token) || token.State != TransactionState.Open)
            {
                return false;
            }

            token.State = TransactionState.Ended;
            _doom ??= reason;
            _pending.Clear();
            _needsResolution = false;
            return true;
        }
    }

    /// <summary>Whether <paramref name="sql"/> is one COMMIT statement (checked only for transactions with deferred writes).</summary>
    public bool IsSoleCommit(string sql)
    {
        var statements = SqlLexer.Split(sql);
        return statements.Count == 1 && _dialect.Analyze(statements[0]).Kind == StatementKind.Commit;
    }

    /// <summary>
    /// How the relay answers a backend error: translated, or (when DSQL would not have failed the statement) by the
    /// relay's conflict handling: see <see cref="ConflictHandling"/>.
    /// </summary>
    /// <param name="error">The backend's error.</param>
    /// <param name="statement">The client statement it answers; null for emulator-internal statements.</param>
    /// <param name="canProbe">Whether the relay can re-run the statement (it has the query text, or the execution's Bind).</param>
    /// <param name="sole">Whether the statement is the only client statement of its round trip (it can be re-run alone).</param>
    public ConflictHandling Classify(PgError error, StatementPlan? statement, bool canProbe, bool sole)
    {
        if (statement is null || !canProbe || !DsqlErrors.IsWriteConflict(error))
        {
            return ConflictHandling.Translate;
        }

        lock (_gate)
        {
            if (statement.Kind == StatementKind.Ddl)
            {
                // A schema change that waited on transactions using its table: it commits, they fail at COMMIT (OC001).
                return error.SqlState == "55P03" && sole && (!_inBlock || _savepointSet) ? ConflictHandling.Retry : ConflictHandling.Translate;
            }

            if (statement.Probe is null)
            {
                return ConflictHandling.Translate;
            }

            if (_inBlock)
            {
                // 40001: a transaction that committed after this one's snapshot already changed the row: it won.
                return error.SqlState == "40001" ? ConflictHandling.Doom : ConflictHandling.Defer;
            }

            // An autocommit write commits at once: it is the earlier committer.
            return error.SqlState == "55P03" && sole ? ConflictHandling.Retry : ConflictHandling.Translate;
        }
    }

    /// <summary>Fails the session's next COMMIT (or autocommit write) with OC000.</summary>
    public void InjectConflict()
    {
        lock (_gate)
        {
            _injected = true;
        }
    }

    /// <summary>Whether the session is (predicted to be) inside an explicit transaction block.</summary>
    public bool InTransactionBlock
    {
        get
        {
            lock (_gate)
            {
                return _inBlock;
            }
        }
    }

    /// <summary>
    /// Plans a simple-protocol query. DSQL checks a multi-statement query as a whole before running any of it, so a refusal
    /// anywhere answers the whole query with that one error.
    /// </summary>
    public (string BackendSql, IReadOnlyList<StatementPlan> Plans) PlanSimpleQuery(string sql)
    {
        var statements = SqlLexer.Split(sql, out var unterminatedComment);
        if (statements.Count == 0 || unterminatedComment)
        {
            // Nothing to run, or text PostgreSQL's lexer refuses as a whole (42601 unterminated /* comment): its answer.
            return (sql, [StatementPlan.PassThrough(sql)]);
        }

        lock (_gate)
        {
            var saved = (_inBlock, _ddlCount, _dmlCount);
            var plans = new List<StatementPlan>();
            var backend = new StringBuilder();
            foreach (var statement in statements)
            {
                var analysis = Judge(_dialect.Analyze(statement));
                if (analysis.Refusal is { } refusal)
                {
                    (_inBlock, _ddlCount, _dmlCount) = saved;
                    var marker = _refusals.Register(refusal);
                    return (marker, [new StatementPlan { BackendSql = marker }]);
                }

                var plan = ToPlan(analysis);
                if (backend.Length > 0)
                {
                    backend.Append(";\n");
                }

                backend.Append(plan.BackendSql);
                plans.Add(plan);
                if (plan.CheckRowLimit)
                {
                    backend.Append(";\n").Append(RowCheckSql);
                    plans.Add(RowCheckPlan);
                }

                if (plan.PinSnapshot)
                {
                    // DSQL takes the snapshot at BEGIN; PostgreSQL at the first statement that needs one.
                    backend.Append(";\n").Append(SnapshotSql).Append(";\n").Append(SavepointSql);
                    plans.Add(SnapshotPlan);
                    plans.Add(SavepointPlan);
                }
                else if (plan.Probe is not null && _inBlock)
                {
                    backend.Append(";\n").Append(SavepointSql);
                    plans.Add(SavepointPlan);
                }
            }

            EndImplicitTransaction();
            return (backend.ToString(), plans);
        }
    }

    /// <summary>Plans one extended-protocol statement (a <c>Parse</c>).</summary>
    public StatementPlan PlanExtended(string sql)
    {
        lock (_gate)
        {
            if (AnalyzeExtended(sql) is not { } unjudged)
            {
                // Empty, or several statements, which PostgreSQL itself refuses in a Parse message.
                return StatementPlan.PassThrough(sql);
            }

            var analysis = Judge(unjudged);
            if (analysis.Refusal is { } refusal)
            {
                return new StatementPlan { BackendSql = _refusals.Register(refusal) };
            }

            return ToPlan(analysis);
        }
    }

    /// <summary>How many distinct statement texts the session's analysis cache holds.</summary>
    internal int CachedAnalysisCount
    {
        get
        {
            lock (_gate)
            {
                return _extendedAnalyses.Count;
            }
        }
    }

    /// <summary>
    /// The dialect's analysis of one Parse's text (null unless it holds exactly one statement), cached by the exact text:
    /// clients resend the same text on every execution, and the analysis depends on the text alone (the session's
    /// transaction rules are applied afterwards, every time, by <see cref="Judge"/>). Caller holds <c>_gate</c>.
    /// </summary>
    private StatementAnalysis? AnalyzeExtended(string sql)
    {
        if (_extendedAnalyses.TryGetValue(sql, out var cached))
        {
            return cached;
        }

        // An unterminated /* comment goes to PostgreSQL as it is, which refuses it (42601) like DSQL.
        var statements = SqlLexer.Split(sql, out var unterminatedComment);
        var analysis = statements.Count == 1 && !unterminatedComment ? _dialect.Analyze(statements[0]) : null;
        if (sql.Length > MaxCachedTextLength)
        {
            return analysis;
        }

        if (_extendedAnalyses.Count >= MaxCachedAnalyses)
        {
            // A session generating endless distinct texts (literals inlined) must not grow without bound.
            _extendedAnalyses.Clear();
        }

        _extendedAnalyses[sql] = analysis;
        return analysis;
    }

    public void OnExecute(StatementPlan plan)
    {
    }

    /// <summary>A <c>Sync</c> ends an implicit (no BEGIN) transaction.</summary>
    public void OnSync()
    {
        lock (_gate)
        {
            EndImplicitTransaction();
        }
    }

    public void OnCommandComplete(StatementPlan? plan)
    {
        if (plan is { Kind: StatementKind.Commit, ErrorInsteadOfCompletion: null } && Interlocked.Exchange(ref _committing, null) is { } committed)
        {
            committed.State = TransactionState.Committed;
        }

        if (plan is { Kind: StatementKind.Ddl, Tables.Count: > 0 })
        {
            _conflicts.RecordSchemaChange(plan.Tables, this);
        }
    }

    /// <summary>
    /// Translates an error the backend answered into DSQL's: a refusal decided at planning comes back as its DSQL error, a
    /// lock or serialization failure becomes OC000 (or OC001 for a schema change kept waiting), a statement timeout the
    /// transaction age limit. Returns <see langword="null"/> when DSQL would have let the write proceed and failed the
    /// transaction at COMMIT instead: the relay then answers the statement from its <see cref="StatementPlan.Probe"/>
    /// and calls <see cref="MarkConflicted"/>.
    /// </summary>
    /// <param name="error">The backend's error.</param>
    /// <param name="statement">The client statement it answers; <see langword="null"/> for emulator-internal statements or when unknown.</param>
    /// <param name="canProbe">Whether the relay can re-run the statement's probe (it has the query text, or the execution's Bind).</param>
    public PgError? TranslateBackendError(PgError error, StatementPlan? statement, bool canProbe)
    {
        if (DsqlErrors.IsWriteConflict(error) && statement is not null)
        {
            if (Classify(error, statement, canProbe, sole: false) != ConflictHandling.Translate)
            {
                return null;
            }

            error = statement.Kind == StatementKind.Ddl && error.SqlState == "55P03" ? DsqlErrors.SchemaConflict() : DsqlErrors.DataConflict();
        }
        else if (error.SqlState == "57014" && error.Message.Contains("statement timeout", StringComparison.Ordinal))
        {
            // The backend's statement_timeout is the transaction age limit: a statement ran longer than it.
            error = DsqlErrors.AgeLimit(_maxTransactionAge);
        }
        else if (error.SqlState == "55P03")
        {
            // A schema change waiting on a transaction that uses the table: DSQL never waits.
            error = DsqlErrors.SchemaConflict();
        }

        return _refusals.Translate(error) ?? PrivilegeErrors.Translate(DsqlErrors.Clean(error));
    }

    /// <summary>The backend's transaction status is authoritative once nothing else is in flight.</summary>
    public void OnReadyForQuery(char status, bool idle)
    {
        if (!idle)
        {
            return;
        }

        lock (_gate)
        {
            var inBlock = status is 'T' or 'E';
            if (!inBlock)
            {
                ResetTransaction();
                _blockStartedAt = null;
            }
            else if (_blockStartedAt is null)
            {
                // A block the planner did not see begin (an unclassified statement opened it): its age counts from now.
                _blockStartedAt = _time.GetTimestamp();
                _token ??= new TransactionToken(Participant);
            }

            _inBlock = inBlock;
        }
    }

    private void EndImplicitTransaction()
    {
        if (!_inBlock)
        {
            ResetTransaction();
        }
    }

    private void ResetTransaction()
    {
        _ddlCount = _dmlCount = 0;
        _doom = null;
        _pending.Clear();
        _needsResolution = false;
        _savepointSet = false;
        if (_token is { State: TransactionState.Open } open)
        {
            open.State = TransactionState.Ended;
        }

        _token = null;
        _writtenTables.Clear();
        _transactionStartVersion = _conflicts.CurrentVersion;
        _ageReported = false;
    }

    /// <summary>
    /// DSQL fails the statements of a transaction older than its age limit with 54000. The first statement after the limit
    /// gets that error (a COMMIT rolls back); PostgreSQL then reports the aborted transaction (25P02) until ROLLBACK.
    /// </summary>
    private PgError? AgeLimitError(StatementKind kind)
    {
        if (!_inBlock || _ageReported || kind == StatementKind.Rollback || _blockStartedAt is not { } startedAt
            || _time.GetElapsedTime(startedAt) <= _maxTransactionAge)
        {
            return null;
        }

        _ageReported = true;
        return DsqlErrors.AgeLimit(_maxTransactionAge);
    }

    /// <summary>Applies the transaction rules to an analysis and advances the predicted state.</summary>
    private StatementAnalysis Judge(StatementAnalysis analysis)
    {
        if (analysis.Refusal is not null)
        {
            return analysis;
        }

        if (AgeLimitError(analysis.Kind) is { } tooOld)
        {
            if (analysis.Kind != StatementKind.Commit)
            {
                return StatementAnalysis.Refuse(analysis.Kind, tooOld.SqlState, tooOld.Message);
            }

            // COMMIT of an expired transaction: the backend rolls back and the client gets DSQL's error.
            _inBlock = false;
            ResetTransaction();
            _blockStartedAt = null;
            return analysis with { BackendSql = "ROLLBACK", CommitError = tooOld };
        }

        if (analysis.InjectsConflict)
        {
            _injected = true;
        }

        switch (analysis.Kind)
        {
            case StatementKind.Begin:
                if (!_inBlock)
                {
                    // BEGIN inside a block only warns on PostgreSQL; the transaction keeps its age and its state.
                    _blockStartedAt = _time.GetTimestamp();
                    ResetTransaction();
                    _token = new TransactionToken(Participant);
                    // The relay takes the snapshot and sets the savepoint right after BEGIN (see StatementPlan.PinSnapshot).
                    _savepointSet = true;
                }

                _inBlock = true;
                break;
            case StatementKind.Commit when _inBlock:
                _inBlock = false;
                var conflict = CommitConflict();
                if (conflict is null && _token is { State: TransactionState.Open } winner)
                {
                    // Admitted to commit: from now on it is the earlier committer of anything it wrote.
                    winner.State = TransactionState.Committing;
                    _committing = winner;
                }

                ResetTransaction();
                if (conflict is not null)
                {
                    // The loser's transaction ends: roll it back on the backend and answer DSQL's error.
                    return analysis with { BackendSql = "ROLLBACK", CommitError = conflict };
                }

                break;
            case StatementKind.Commit or StatementKind.Rollback:
                _inBlock = false;
                ResetTransaction();
                _blockStartedAt = null;
                break;
            case StatementKind.Ddl:
                if (_ddlCount > 0)
                {
                    return StatementAnalysis.Refuse(StatementKind.Ddl, "0A000", "multiple ddl statements not supported in a transaction");
                }

                if (_dmlCount > 0)
                {
                    return StatementAnalysis.Refuse(StatementKind.Ddl, "0A000", "ddl and dml are not supported in the same transaction");
                }

                _ddlCount++;
                break;
            case StatementKind.Dml:
                if (_ddlCount > 0)
                {
                    return StatementAnalysis.Refuse(StatementKind.Dml, "0A000", "ddl and dml are not supported in the same transaction");
                }

                if (!_inBlock && (_injected || _conflicts.TryConsumeInjection(ApplicationName)))
                {
                    // An autocommit write commits at once: an injected conflict fails the statement itself.
                    _injected = false;
                    return StatementAnalysis.Refuse(StatementKind.Dml, "40001", DsqlErrors.DataConflictMessage);
                }

                _dmlCount++;
                _writtenTables.UnionWith(analysis.Tables);
                _token?.AddTables(analysis.Tables);
                break;
        }

        return analysis;
    }

    private PgError? CommitConflict()
    {
        if (_doom is { } doom)
        {
            _injected = false;
            return doom;
        }

        if (_injected || _conflicts.TryConsumeInjection(ApplicationName) || _pending.Count > 0)
        {
            // A deferred write still undecided (its COMMIT came inside a larger batch): the emulator cannot replay it there.
            _injected = false;
            return DsqlErrors.DataConflict();
        }

        return _conflicts.SchemaChangedSince(_writtenTables, _transactionStartVersion, this)
            ? DsqlErrors.SchemaConflict()
            : null;
    }

    private static StatementPlan ToPlan(StatementAnalysis analysis) => new()
    {
        BackendSql = analysis.BackendSql,
        TagOverride = analysis.TagOverride,
        CheckRowLimit = analysis.Writes,
        Kind = analysis.Kind,
        Tables = analysis.Tables,
        Probe = analysis.Probe,
        ErrorInsteadOfCompletion = analysis.CommitError,
        PinSnapshot = analysis.Kind == StatementKind.Begin,
    };
}
