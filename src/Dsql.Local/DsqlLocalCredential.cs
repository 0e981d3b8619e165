namespace Dsql.Local;

/// <summary>An AWS access key pair the emulator accepts token signatures from, and the IAM identity it stands for.</summary>
/// <param name="AccessKeyId">The access key ID, as named in a token's <c>X-Amz-Credential</c>.</param>
/// <param name="SecretAccessKey">The secret access key that signs the tokens.</param>
public sealed record DsqlLocalCredential(string AccessKeyId, string SecretAccessKey)
{
    /// <summary>The documented throw-away access key ID used when no credentials are configured.</summary>
    public const string DefaultAccessKeyId = "AKIDSQLLOCALEXAMPLE1";

    /// <summary>The documented throw-away secret paired with <see cref="DefaultAccessKeyId"/>; it protects nothing.</summary>
    public const string DefaultSecretAccessKey = "dsql+local/throw-away/secret/not-for-production";

    /// <summary>The account of the IAM identities the emulator assumes for keys configured without an ARN.</summary>
    public const string DefaultAccountId = "000000000000";

    /// <summary>The throw-away pair used when no credentials are configured.</summary>
    public static DsqlLocalCredential Default { get; } = new(DefaultAccessKeyId, DefaultSecretAccessKey);

    /// <summary>
    /// The IAM identity (user or role ARN) that tokens signed with this key come from: what <c>AWS IAM GRANT role TO 'arn'</c>
    /// must name for this key to log in as that role. When <see langword="null"/>, the key stands for
    /// <c>arn:aws:iam::000000000000:user/&lt;AccessKeyId&gt;</c> (see <see cref="EffectiveIamArn"/>).
    /// </summary>
    public string? IamArn { get; init; }

    /// <summary>The IAM ARN this key stands for: <see cref="IamArn"/>, else <c>arn:aws:iam::000000000000:user/&lt;AccessKeyId&gt;</c>.</summary>
    public string EffectiveIamArn => IamArn ?? $"arn:aws:iam::{DefaultAccountId}:user/{AccessKeyId}";

    /// <summary>
    /// Parses <c>ACCESS_KEY_ID:SECRET_ACCESS_KEY</c> or <c>ACCESS_KEY_ID:SECRET_ACCESS_KEY:arn:aws:iam::ACCOUNT:role/NAME</c>,
    /// as given to <c>--credentials</c>.
    /// </summary>
    /// <param name="value">The pair, separated by the first colon, optionally followed by <c>:</c> and the IAM ARN the key stands for.</param>
    /// <returns>The credential.</returns>
    /// <exception cref="FormatException">The value has no colon, an empty part, or an ARN that is not an IAM ARN.</exception>
    public static DsqlLocalCredential Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == value.Length - 1)
        {
            throw new FormatException(
                "Credentials must be given as ACCESS_KEY_ID:SECRET_ACCESS_KEY[:IAM_ARN], for example --credentials AKIAEXAMPLE:secret " +
                "or --credentials AKIAEXAMPLE:secret:arn:aws:iam::123456789012:role/app.");
        }

        var rest = value[(colon + 1)..];
        string? arn = null;
        var arnStart = rest.IndexOf(":arn:", StringComparison.Ordinal);
        if (arnStart >= 0)
        {
            arn = rest[(arnStart + 1)..];
            rest = rest[..arnStart];
            var parts = arn.Split(':');
            if (parts.Length < 6 || parts[2] is not ("iam" or "sts") || parts[5].Length == 0 || rest.Length == 0)
            {
                throw new FormatException(
                    "The IAM ARN after the secret must look like arn:aws:iam::123456789012:role/NAME (or :user/NAME), " +
                    "for example --credentials AKIAEXAMPLE:secret:arn:aws:iam::123456789012:role/app.");
            }
        }

        return new DsqlLocalCredential(value[..colon], rest) { IamArn = arn };
    }

    /// <summary>The access key ID (and ARN) only: the secret never appears in logs.</summary>
    /// <returns>A description without the secret.</returns>
    public override string ToString()
        => IamArn is null ? $"DsqlLocalCredential {{ AccessKeyId = {AccessKeyId} }}" : $"DsqlLocalCredential {{ AccessKeyId = {AccessKeyId}, IamArn = {IamArn} }}";
}
