using System.Security.Cryptography.X509Certificates;
using Dsql.Local.Auth;

namespace Dsql.Local.Proxy;

/// <summary>What every client session shares: configuration, the token verifier, the backend, and the live sessions.</summary>
internal abstract class ServerContext
{
    public abstract X509Certificate2? Certificate { get; }

    /// <summary>DSQL only accepts encrypted connections; when TLS is on, plain-text logins are refused.</summary>
    public bool RequireTls => Certificate is not null;

    public abstract DsqlTokenVerifier? Verifier { get; }

    public abstract BackendEndpoint Backend { get; }

    public abstract DsqlDialect Dialect { get; }

    public abstract ConflictCoordinator Conflicts { get; }

    public abstract TimeSpan MaxConnectionAge { get; }

    public abstract TimeSpan MaxTransactionAge { get; }

    public abstract Action<string>? Log { get; }

    /// <summary>
    /// Decides whether <paramref name="role"/> may log in with a token signed by <paramref name="accessKeyId"/> (null without
    /// token verification), and how its backend session logs in.
    /// </summary>
    public abstract Task<LoginDecision> AuthorizeLoginAsync(string role, string? accessKeyId, CancellationToken cancellationToken);

    /// <summary>How long a connection may take to log in.</summary>
    public abstract TimeSpan LoginTimeout { get; }

    /// <summary>Counts a logged-in session; false when the connection limit is reached (the client gets 53300).</summary>
    public abstract bool TryRegister(ClientSession session);

    public abstract void Unregister(ClientSession session);
}

/// <summary>The outcome of a login check: the backend endpoint to log in to as the role, or why the login is refused.</summary>
internal sealed record LoginDecision(BackendEndpoint? Endpoint, string? Refusal)
{
    public static LoginDecision Allow(BackendEndpoint endpoint) => new(endpoint, null);

    public static LoginDecision Refuse(string reason) => new(null, reason);
}
