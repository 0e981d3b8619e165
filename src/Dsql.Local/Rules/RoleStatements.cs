namespace Dsql.Local.Rules;

/// <summary>
/// DSQL's role statements: <c>CREATE ROLE/USER</c>, <c>DROP ROLE/USER</c>, <c>AWS IAM GRANT</c> and <c>AWS IAM REVOKE</c>.
/// Each becomes a <c>CALL</c> of a backend procedure that checks the caller is <c>admin</c> and runs with the service
/// role's privileges: <c>admin</c> itself has no <c>CREATEROLE</c> (see <see cref="Backend.BackendSchema"/>).
/// </summary>
internal static class RoleStatements
{
    /// <summary><c>CREATE ROLE name [[WITH] LOGIN | NOLOGIN …]</c>; <c>CREATE USER</c> implies <c>LOGIN</c>.</summary>
    public static StatementAnalysis Create(SqlStatement statement, int nameIndex, bool user)
    {
        var t = statement.Tokens;
        if (nameIndex >= t.Count || !t[nameIndex].IsName)
        {
            return SyntaxError(t, nameIndex);
        }

        var login = user;
        var i = nameIndex + 1;
        if (t.WordAt(i) == "with")
        {
            i++;
        }

        for (; i < t.Count; i++)
        {
            switch (t.WordAt(i))
            {
                case "login":
                    login = true;
                    break;
                case "nologin":
                    login = false;
                    break;
                case "inherit":
                    break;
                default:
                    // SUPERUSER, CREATEROLE, PASSWORD, IN ROLE…: beyond what admin may give (DSQL authenticates with IAM only).
                    return StatementAnalysis.Refuse(StatementKind.Ddl, "42501", "permission denied to create role");
            }
        }

        return Call(statement, $"CALL dsql_local.create_role({Literal(t[nameIndex].Value)}, {(login ? "true" : "false")})", "CREATE ROLE");
    }

    /// <summary><c>DROP ROLE [IF EXISTS] name [, …]</c>.</summary>
    public static StatementAnalysis Drop(SqlStatement statement)
    {
        var t = statement.Tokens;
        var i = 2;
        var ifExists = t.WordAt(i) == "if" && t.WordAt(i + 1) == "exists";
        if (ifExists)
        {
            i += 2;
        }

        var names = new List<string>();
        for (; i < t.Count; i += 2)
        {
            if (!t[i].IsName || (i + 1 < t.Count && !t.SymbolAt(i + 1, ",")))
            {
                return SyntaxError(t, i + 1 < t.Count && t[i].IsName ? i + 1 : i);
            }

            names.Add(Literal(t[i].Value));
        }

        return names.Count == 0
            ? SyntaxError(t, i)
            : Call(statement, $"CALL dsql_local.drop_role(ARRAY[{string.Join(", ", names)}]::text[], {(ifExists ? "true" : "false")})", "DROP ROLE");
    }

    /// <summary><c>AWS IAM GRANT role TO 'arn'</c> and <c>AWS IAM REVOKE role FROM 'arn'</c>.</summary>
    public static StatementAnalysis AwsIam(SqlStatement statement)
    {
        var t = statement.Tokens;
        var action = t.WordAt(2);
        var preposition = action == "grant" ? "to" : "from";
        if (t.WordAt(1) != "iam" || action is not ("grant" or "revoke"))
        {
            return SyntaxError(t, t.WordAt(1) != "iam" ? 1 : 2);
        }

        if (t.Count != 6 || !t[3].IsName || t.WordAt(4) != preposition || t[5].Kind != TokenKind.String)
        {
            return SyntaxError(t, Math.Min(t.Count, !t[3].IsName ? 3 : t.WordAt(4) != preposition ? 4 : 5));
        }

        return Call(statement, $"CALL dsql_local.aws_iam_{action}({Literal(t[3].Value)}, {Literal(t[5].Value)})", $"AWS IAM {action.ToUpperInvariant()}");
    }

    private static StatementAnalysis Call(SqlStatement statement, string sql, string tag)
        => new(StatementKind.Ddl, sql) { TagOverride = tag };

    private static StatementAnalysis SyntaxError(List<SqlToken> t, int at)
        => StatementAnalysis.Refuse(StatementKind.Other, "42601", at < t.Count ? $"syntax error at or near \"{t[at].Value}\"" : "syntax error at end of input");

    private static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";
}
