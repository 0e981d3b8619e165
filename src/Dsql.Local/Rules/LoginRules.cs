namespace Dsql.Local.Rules;

/// <summary>DSQL's rules for a connection's start-up: who may log in, how, and to which database.</summary>
internal static class LoginRules
{
    /// <summary>The server version DSQL reports, in <c>ParameterStatus</c> and <c>SHOW server_version</c>.</summary>
    public const string ServerVersion = DsqlDialect.ServerVersion;

    /// <summary>Checks the start-up packet before the password is asked for; null when the login may proceed.</summary>
    public static PgError? CheckStartup(IReadOnlyDictionary<string, string> parameters, bool requireTls, bool encrypted)
    {
        if (!parameters.TryGetValue("user", out var user) || user.Length == 0)
        {
            return Fatal("28000", "no PostgreSQL user name specified in startup packet");
        }

        if (requireTls && !encrypted)
        {
            return Fatal("28000", "SSL/TLS required: Aurora DSQL only accepts encrypted connections (use SSL Mode=Require, or start the emulator with --no-tls)");
        }

        return null;
    }

    /// <summary>Checks the database named at start-up (after authentication, as PostgreSQL does); null when it exists.</summary>
    public static PgError? CheckDatabase(string database)
        => database == "postgres"
            ? null
            : Fatal("3D000", $"database \"{database}\" does not exist: Aurora DSQL has only the database \"postgres\"");

    /// <summary>DSQL's answer to a login over its connection limit.</summary>
    public static PgError TooManyConnections() => Fatal("53300", "Unable to accept connection, too many open connections.");

    /// <summary>The value DSQL reports for a <c>ParameterStatus</c> the backend sends, or null to relay the backend's.</summary>
    public static string? ReportedParameter(string name) => name == "server_version" ? ServerVersion : null;

    private static PgError Fatal(string sqlState, string message) => new("FATAL", sqlState, message);
}
