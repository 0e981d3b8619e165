using System.Runtime.CompilerServices;
using Amazon.Runtime;

namespace Microsoft.EntityFrameworkCore.Dsql.Storage.Internal;

/// <summary>The settings that shape IAM tokens; part of the key under which data sources are shared.</summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
/// <param name="Region">The AWS region, or <see langword="null"/> to infer it from the endpoint.</param>
/// <param name="Profile">The AWS profile.</param>
/// <param name="Credentials">Explicit credentials, compared by reference.</param>
/// <param name="TokenDuration">The token lifetime.</param>
public sealed record DsqlAuthSettings(string? Region, string? Profile, AWSCredentials? Credentials, TimeSpan? TokenDuration)
{
    /// <inheritdoc />
    public bool Equals(DsqlAuthSettings? other)
        => other is not null
            && Region == other.Region
            && Profile == other.Profile
            && ReferenceEquals(Credentials, other.Credentials)
            && TokenDuration == other.TokenDuration;

    /// <inheritdoc />
    public override int GetHashCode()
        => HashCode.Combine(Region, Profile, Credentials is null ? 0 : RuntimeHelpers.GetHashCode(Credentials), TokenDuration);

    /// <summary>Describes the settings without secrets.</summary>
    public override string ToString()
        => $"DsqlAuthSettings {{ Region = {Region}, Profile = {Profile}, Credentials = {(Credentials is null ? "default chain" : "explicit")}, TokenDuration = {TokenDuration} }}";
}
