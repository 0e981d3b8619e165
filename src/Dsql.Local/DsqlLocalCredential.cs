namespace Dsql.Local;

/// <summary>An AWS access key pair the emulator accepts token signatures from.</summary>
/// <param name="AccessKeyId">The access key ID, as named in a token's <c>X-Amz-Credential</c>.</param>
/// <param name="SecretAccessKey">The secret access key that signs the tokens.</param>
public sealed record DsqlLocalCredential(string AccessKeyId, string SecretAccessKey)
{
    /// <summary>The documented throw-away access key ID used when no credentials are configured.</summary>
    public const string DefaultAccessKeyId = "AKIDSQLLOCALEXAMPLE1";

    /// <summary>The documented throw-away secret paired with <see cref="DefaultAccessKeyId"/>; it protects nothing.</summary>
    public const string DefaultSecretAccessKey = "dsql+local/throw-away/secret/not-for-production";

    /// <summary>The throw-away pair used when no credentials are configured.</summary>
    public static DsqlLocalCredential Default { get; } = new(DefaultAccessKeyId, DefaultSecretAccessKey);

    /// <summary>Parses <c>ACCESS_KEY_ID:SECRET_ACCESS_KEY</c>, as given to <c>--credentials</c>.</summary>
    /// <param name="value">The pair, separated by the first colon.</param>
    /// <returns>The credential.</returns>
    /// <exception cref="FormatException">The value has no colon or an empty part.</exception>
    public static DsqlLocalCredential Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == value.Length - 1)
        {
            throw new FormatException("Credentials must be given as ACCESS_KEY_ID:SECRET_ACCESS_KEY, for example --credentials AKIAEXAMPLE:secret.");
        }

        return new DsqlLocalCredential(value[..colon], value[(colon + 1)..]);
    }

    /// <summary>The access key ID only: the secret never appears in logs.</summary>
    /// <returns>A description without the secret.</returns>
    public override string ToString() => $"DsqlLocalCredential {{ AccessKeyId = {AccessKeyId} }}";
}
