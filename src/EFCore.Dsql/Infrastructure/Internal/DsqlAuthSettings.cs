using Amazon.Extensions.NETCore.Setup;
using Amazon.Runtime;

namespace Microsoft.EntityFrameworkCore.Dsql.Infrastructure.Internal;

/// <summary>
/// The authentication settings given to <c>UseAuroraDsql(…, o => o.Region(…).Profile(…).Credentials(…).TokenDuration(…))</c>,
/// one group of <see cref="DsqlOptionsExtension"/>. They override the connection string's or the connector options'
/// values; <see langword="null"/> keeps those.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed record DsqlAuthSettings
{
    /// <summary>No overrides.</summary>
    public static DsqlAuthSettings None { get; } = new();

    /// <summary>The AWS region; inferred from the endpoint when <see langword="null"/>.</summary>
    public string? Region { get; init; }

    /// <summary>The AWS shared-config profile to take credentials from.</summary>
    public string? Profile { get; init; }

    /// <summary>The AWS credentials to sign tokens with (compared by reference); the default AWS credential chain when <see langword="null"/>.</summary>
    public AWSCredentials? Credentials { get; init; }

    /// <summary>The IAM token lifetime; the connector's default when <see langword="null"/>.</summary>
    public TimeSpan? TokenDuration { get; init; }

    /// <summary>
    /// The AWS SDK's options given with <c>AwsOptions(…)</c> (compared by reference); when <see langword="null"/>, an
    /// <see cref="AWSOptions"/> registered in the application's services is used. They only fill in what the string
    /// and the settings above leave open.
    /// </summary>
    public AWSOptions? AwsOptions { get; init; }

    /// <summary>Whether any setting is given.</summary>
    public bool IsEmpty => this == None;

    /// <summary>Applies the overrides to connector options; the connector validates each value.</summary>
    /// <param name="options">The options to change.</param>
    /// <param name="includeRegion">Whether to apply the region (a string parsed with it already carries it).</param>
    public DsqlConnectionOptions ApplyTo(DsqlConnectionOptions options, bool includeRegion)
    {
        if (includeRegion && Region is not null)
        {
            options = options.WithRegion(Region);
        }

        if (Profile is not null)
        {
            options = options.WithProfile(Profile);
        }

        if (Credentials is not null)
        {
            options = options.WithCredentials(Credentials);
        }

        return TokenDuration is { } duration ? options.WithTokenDuration(duration) : options;
    }
}
