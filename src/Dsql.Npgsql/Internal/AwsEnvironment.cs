using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;

namespace Dsql.Npgsql.Internal;

/// <summary>
/// What the AWS environment supplies when the caller does not: the region (<c>AWS_REGION</c>, <c>AWS_DEFAULT_REGION</c>,
/// the profile's <c>region</c>) and credentials (a named profile or the SDK's default chain).
/// </summary>
internal static class AwsEnvironment
{
    internal const string RegionVariable = "AWS_REGION";
    internal const string DefaultRegionVariable = "AWS_DEFAULT_REGION";
    internal const string ProfileVariable = "AWS_PROFILE";
    internal const string DefaultProfileName = "default";

    /// <summary>The profile the SDK would use: <paramref name="profile"/>, else <c>AWS_PROFILE</c>, else <c>default</c>.</summary>
    internal static string EffectiveProfileName(string? profile)
        => !string.IsNullOrEmpty(profile) ? profile
            : Environment.GetEnvironmentVariable(ProfileVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment
            : DefaultProfileName;

    /// <summary>
    /// The region from <c>AWS_REGION</c>, <c>AWS_DEFAULT_REGION</c> or the profile's configuration, with where it came
    /// from; <see langword="null"/> when none is set.
    /// </summary>
    internal static (string Region, string Source)? FindRegion(string? profile)
    {
        foreach (var variable in (string[])[RegionVariable, DefaultRegionVariable])
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value)
            {
                return (value.Trim(), $"the {variable} environment variable");
            }
        }

        var profileName = EffectiveProfileName(profile);
        if (TryGetProfile(profileName, out var credentialProfile) && credentialProfile.Region is { } region)
        {
            return (region.SystemName, $"the region of AWS profile '{profileName}'");
        }

        return null;
    }

    /// <summary>Whether a named profile exists in the shared config/credentials files (honouring <c>AWS_CONFIG_FILE</c> and <c>AWS_SHARED_CREDENTIALS_FILE</c>).</summary>
    internal static bool TryGetProfile(string name, out CredentialProfile profile)
        => new CredentialProfileStoreChain().TryGetProfile(name, out profile);

    /// <summary>Builds the credentials of a named profile; the SDK refreshes them (SSO, assume-role, process) as needed.</summary>
    /// <exception cref="ArgumentException">The profile does not exist or cannot produce credentials.</exception>
    internal static AWSCredentials ProfileCredentials(string name)
    {
        var chain = new CredentialProfileStoreChain();
        if (!chain.TryGetProfile(name, out var profile))
        {
            throw new ArgumentException(
                $"The AWS profile '{name}' was not found in the shared config or credentials files " +
                $"({DescribeProfileFiles()}). Create it (for example with 'aws configure --profile {name}') or use another profile.",
                "profile");
        }

        if (!AWSCredentialsFactory.TryGetAWSCredentials(profile, chain, out var credentials) || credentials is null)
        {
            throw new ArgumentException(
                $"The AWS profile '{name}' has no usable credentials: it needs an access key pair, a role to assume, SSO settings or a credential process.",
                "profile");
        }

        return credentials;
    }

    /// <summary>The SDK's default credential chain (environment, profile, SSO, web identity, container and instance roles).</summary>
    internal static async ValueTask<AWSCredentials> DefaultCredentialsAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonClientException e)
        {
            throw NoDefaultCredentials(e);
        }
    }

    /// <inheritdoc cref="DefaultCredentialsAsync"/>
    internal static AWSCredentials DefaultCredentials()
    {
        try
        {
            return DefaultAWSCredentialsIdentityResolver.GetCredentials();
        }
        catch (AmazonClientException e)
        {
            throw NoDefaultCredentials(e);
        }
    }

    private static InvalidOperationException NoDefaultCredentials(Exception inner)
        => new(
            "No AWS credentials were found by the default chain (environment variables, shared profile, SSO, web identity, " +
            "container or instance role). Configure one of them, name a profile (Profile=...), or pass credentials with " +
            $"DsqlConnectionOptions.WithCredentials(...). {inner.Message}",
            inner);

    private static string DescribeProfileFiles()
    {
        var config = Environment.GetEnvironmentVariable("AWS_CONFIG_FILE");
        var credentials = Environment.GetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE");
        return $"config: {(string.IsNullOrEmpty(config) ? "~/.aws/config" : config)}, credentials: {(string.IsNullOrEmpty(credentials) ? "~/.aws/credentials" : credentials)}";
    }
}
