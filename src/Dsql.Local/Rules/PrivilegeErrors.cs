using Dsql.Local.Backend;

namespace Dsql.Local.Rules;

/// <summary>
/// Translates the backend's permission errors for functions DSQL refuses into DSQL's answer. The refusal itself is an
/// effect inside the backend (the function is not executable by any client role, see <see cref="BackendSchema"/>), so it
/// holds however the call is spelled: in a view, a SQL function, a default expression.
/// </summary>
internal static class PrivilegeErrors
{
    private const string Prefix = "permission denied for function ";

    private static readonly HashSet<string> Refused = new(BackendSchema.RefusedFunctions, StringComparer.Ordinal);

    /// <summary>
    /// DSQL's <c>0A000 function … not supported</c> (its recorded wording for advisory locks) for a refused function; the
    /// error itself otherwise.
    /// </summary>
    public static PgError Translate(PgError error)
    {
        if (error.SqlState != "42501" || !error.Message.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return error;
        }

        var name = error.Message[Prefix.Length..];
        return Refused.Contains(name) ? new PgError("ERROR", "0A000", $"function {name} not supported") : error;
    }
}
