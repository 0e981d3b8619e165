namespace Dsql.Npgsql.Internal;

/// <summary>
/// What makes two credential objects "the same" for sharing a data source (a connection pool).
/// Fixed credentials (<see cref="BasicAWSCredentials"/>, <see cref="SessionAWSCredentials"/>) compare by value, so
/// <c>o.Credentials(new BasicAWSCredentials(...))</c> in <c>OnConfiguring</c> does not create a new connection pool
/// per context instance; any other credentials (refreshing, role, SSO…) compare by reference: register one instance
/// and reuse it.
/// </summary>
internal static class DsqlCredentialIdentity
{
    /// <summary>A key with value equality for fixed credentials and reference equality otherwise; never logged.</summary>
    /// <param name="credentials">The credentials, or <see langword="null"/> for the default chain.</param>
    public static object? Of(AWSCredentials? credentials)
        => credentials switch
        {
            null => null,

            // Reading fixed credentials is a field copy, no I/O.
            BasicAWSCredentials or SessionAWSCredentials => new FixedKey(credentials.GetCredentials()),
            _ => new ReferenceKey(credentials),
        };

    // Value equality over the key material; ToString shows the access key ID only.
    private sealed class FixedKey(ImmutableCredentials credentials)
    {
        private readonly string _accessKey = credentials.AccessKey;
        private readonly string _secretKey = credentials.SecretKey;
        private readonly string? _token = credentials.Token;

        public override bool Equals(object? obj)
            => obj is FixedKey other
                && string.Equals(_accessKey, other._accessKey, StringComparison.Ordinal)
                && string.Equals(_secretKey, other._secretKey, StringComparison.Ordinal)
                && string.Equals(_token, other._token, StringComparison.Ordinal);

        public override int GetHashCode() => HashCode.Combine(_accessKey, _secretKey, _token);

        public override string ToString() => $"fixed credentials {_accessKey}";
    }

    private sealed class ReferenceKey(AWSCredentials credentials)
    {
        private readonly AWSCredentials _credentials = credentials;

        public override bool Equals(object? obj) => obj is ReferenceKey other && ReferenceEquals(_credentials, other._credentials);

        public override int GetHashCode() => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(_credentials);

        public override string ToString() => _credentials.GetType().Name;
    }
}
