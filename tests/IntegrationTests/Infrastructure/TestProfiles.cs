using System.Runtime.CompilerServices;

namespace EFCore.Dsql.IntegrationTests.Infrastructure;

/// <summary>
/// AWS profiles for the profile connection form when the credentials come from environment variables (as in CI): a
/// profile with those keys and one with a wrong secret, in a credentials file of the suite's own. The AWS SDK reads
/// <c>AWS_SHARED_CREDENTIALS_FILE</c> once per process, so this runs when the assembly loads, before any SDK use.
/// </summary>
public static class TestProfiles
{
    /// <summary>The profile holding the environment's credentials, or null when the suite wrote none.</summary>
    public static string? Name { get; private set; }

    /// <summary>The profile holding the environment's access key with a wrong secret, or null.</summary>
    public static string? WrongSecretName { get; private set; }

#pragma warning disable CA2255 // The SDK must see the file before its first use, which may be in any test.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void WriteWhenCredentialsComeFromTheEnvironment()
    {
        var accessKey = Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID");
        var secretKey = Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY");
        if (string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secretKey) ||
            !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE")))
        {
            return;
        }

        var sessionToken = Environment.GetEnvironmentVariable("AWS_SESSION_TOKEN");
        var directory = Directory.CreateTempSubdirectory("dsql-it-profiles-").FullName;
        var file = Path.Combine(directory, "credentials");
        File.WriteAllText(file, "");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.WriteAllText(file, Profile("dsql-it", accessKey, secretKey, sessionToken) + Profile("dsql-it-wrong-secret", accessKey, "wrong-secret", sessionToken));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Directory.Delete(directory, recursive: true);
        Environment.SetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE", file);
        (Name, WrongSecretName) = ("dsql-it", "dsql-it-wrong-secret");
    }

    private static string Profile(string name, string accessKey, string secretKey, string? sessionToken)
        => $"[{name}]\naws_access_key_id = {accessKey}\naws_secret_access_key = {secretKey}\n" +
           (string.IsNullOrEmpty(sessionToken) ? "" : $"aws_session_token = {sessionToken}\n");
}
