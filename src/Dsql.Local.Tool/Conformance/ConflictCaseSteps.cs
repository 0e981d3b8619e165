namespace Dsql.Local.Conformance;

/// <summary>
/// The SQL of the two-session conflict cases, which our copy of the record leaves out (<c>"steps": null</c>); written
/// from the case descriptions in the recording project's suite (Dreamescaper/dsql-emulator, test/conformance).
/// </summary>
internal static class ConflictCaseSteps
{
    private const string ConflictRow = "'00000000-0000-0000-0000-0000000000ac'";

    public static IReadOnlyDictionary<string, string[][]> Steps { get; } = new Dictionary<string, string[][]>(StringComparer.Ordinal)
    {
        ["occ_write_write"] =
        [
            ["BEGIN", $"UPDATE baseline_conflict SET name = 'ww-a' WHERE id = {ConflictRow}", "COMMIT"],
            ["BEGIN", $"UPDATE baseline_conflict SET name = 'ww-b' WHERE id = {ConflictRow}", "COMMIT"],
        ],
        ["occ_for_update_vs_write"] =
        [
            ["BEGIN", $"SELECT name FROM baseline_conflict WHERE id = {ConflictRow} FOR UPDATE", "COMMIT"],
            ["BEGIN", $"UPDATE baseline_conflict SET name = 'fu-b' WHERE id = {ConflictRow}", "COMMIT"],
        ],
        ["occ_for_key_share_vs_delete"] =
        [
            ["BEGIN", $"SELECT name FROM baseline_conflict WHERE id = {ConflictRow} FOR KEY SHARE", "COMMIT"],
            ["BEGIN", $"DELETE FROM baseline_conflict WHERE id = {ConflictRow}", "COMMIT"],
        ],
        ["occ_fk_delete_insert"] =
        [
            ["BEGIN", "DELETE FROM baseline_conflict WHERE id = '00000000-0000-0000-0000-0000000000ab'", "COMMIT"],
            ["BEGIN", "INSERT INTO baseline_conflict_child (id, parent_id) VALUES ('00000000-0000-0000-0000-0000000000b0', '00000000-0000-0000-0000-0000000000ab')", "COMMIT"],
        ],
        ["occ_fk_nonkey_update"] =
        [
            ["BEGIN", "UPDATE baseline_conflict SET name = 'nk' WHERE id = '00000000-0000-0000-0000-0000000000af'", "COMMIT"],
            ["BEGIN", "INSERT INTO baseline_conflict_child (id, parent_id) VALUES ('00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000af')", "COMMIT"],
        ],
        ["occ_fk_cascade_vs_child_write"] =
        [
            ["BEGIN", "DELETE FROM baseline_fk_action WHERE id = '00000000-0000-0000-0000-0000000000c1'", "COMMIT"],
            ["BEGIN", "UPDATE baseline_fk_cascade SET note = 'touched' WHERE id = '00000000-0000-0000-0000-0000000000d1'", "COMMIT"],
        ],
        ["occ_fk_set_null_vs_child_write"] =
        [
            ["BEGIN", "DELETE FROM baseline_fk_action WHERE id = '00000000-0000-0000-0000-0000000000c2'", "COMMIT"],
            ["BEGIN", "UPDATE baseline_fk_setnull SET note = 'touched' WHERE id = '00000000-0000-0000-0000-0000000000d2'", "COMMIT"],
        ],
        ["occ_fk_set_default_vs_child_write"] =
        [
            ["BEGIN", "DELETE FROM baseline_fk_action WHERE id = '00000000-0000-0000-0000-0000000000c3'", "COMMIT"],
            ["BEGIN", "UPDATE baseline_fk_setdefault SET note = 'touched' WHERE id = '00000000-0000-0000-0000-0000000000d3'", "COMMIT"],
        ],
        ["occ_multirow_predicate"] =
        [
            ["BEGIN", "UPDATE baseline_span SET v = 'a-side' WHERE k = 1", "COMMIT"],
            ["BEGIN", "UPDATE baseline_span SET v = 'b-side' WHERE k = 1", "COMMIT"],
        ],
        ["occ_disjoint_writes"] =
        [
            ["BEGIN", "UPDATE baseline_conflict SET name = 'dw-a' WHERE id = '00000000-0000-0000-0000-0000000000ad'", "COMMIT"],
            ["BEGIN", "UPDATE baseline_conflict SET name = 'dw-b' WHERE id = '00000000-0000-0000-0000-0000000000ae'", "COMMIT"],
        ],
    };
}
