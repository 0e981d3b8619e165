using System.Runtime.CompilerServices;

namespace EFCore.Dsql.UnitTests.Npgsql;

/// <summary>
/// Points the AWS SDK at empty, test-owned shared config and credentials files before any test runs: the SDK reads
/// <c>AWS_CONFIG_FILE</c> and <c>AWS_SHARED_CREDENTIALS_FILE</c> once per process, so they must be set before its first
/// use. This also keeps the machine's own AWS setup out of every unit test, and the instance-metadata lookup off.
/// </summary>
internal static class AwsTestFiles
{
    internal static string ConfigFile { get; private set; } = "";

    internal static string CredentialsFile { get; private set; } = "";

    [ModuleInitializer]
    internal static void Initialize()
    {
        var directory = Directory.CreateTempSubdirectory("dsql-aws-test-").FullName;
        ConfigFile = Path.Combine(directory, "config");
        CredentialsFile = Path.Combine(directory, "credentials");
        File.WriteAllText(ConfigFile, "");
        File.WriteAllText(CredentialsFile, "");
        Environment.SetEnvironmentVariable("AWS_CONFIG_FILE", ConfigFile);
        Environment.SetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE", CredentialsFile);
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        };
    }
}

/// <summary>Tests that change process-wide AWS environment variables; they never run in parallel with anything.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AwsEnvironmentCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "AWS environment";
}

/// <summary>
/// Isolates a test from the machine's AWS setup: clears every AWS variable, empties the test-owned shared config and
/// credentials files, disables the instance-metadata lookup, and restores everything on dispose.
/// </summary>
public sealed class AwsEnvironmentScope : IDisposable
{
    private static readonly string[] Variables =
    [
        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_EC2_METADATA_DISABLED", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
    ];

    private readonly Dictionary<string, string?> _saved = new();

    public AwsEnvironmentScope()
    {
        foreach (var name in Variables)
        {
            _saved[name] = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, null);
        }

        ConfigFile = AwsTestFiles.ConfigFile;
        CredentialsFile = AwsTestFiles.CredentialsFile;
        File.WriteAllText(ConfigFile, "");
        File.WriteAllText(CredentialsFile, "");
        Set("AWS_CONFIG_FILE", ConfigFile);
        Set("AWS_SHARED_CREDENTIALS_FILE", CredentialsFile);
        // Never wait on the EC2 instance-metadata service when the chain finds nothing.
        Set("AWS_EC2_METADATA_DISABLED", "true");
    }

    public string ConfigFile { get; }

    public string CredentialsFile { get; }

    public AwsEnvironmentScope Set(string name, string? value)
    {
        if (!_saved.ContainsKey(name))
        {
            _saved[name] = Environment.GetEnvironmentVariable(name);
        }

        Environment.SetEnvironmentVariable(name, value);
        return this;
    }

    /// <summary>Writes <c>[profile name]</c> (or <c>[default]</c>) into the config file.</summary>
    public AwsEnvironmentScope WithConfigProfile(string name, string? region = null, string? accessKeyId = null, string? secretAccessKey = null)
    {
        var lines = new List<string> { name == "default" ? "[default]" : $"[profile {name}]" };
        if (region is not null)
        {
            lines.Add($"region = {region}");
        }

        if (accessKeyId is not null)
        {
            lines.Add($"aws_access_key_id = {accessKeyId}");
            lines.Add($"aws_secret_access_key = {secretAccessKey}");
        }

        File.AppendAllLines(ConfigFile, [.. lines, ""]);
        return this;
    }

    /// <summary>Writes <c>[name]</c> with an access key pair into the credentials file.</summary>
    public AwsEnvironmentScope WithCredentialsProfile(string name, string accessKeyId, string secretAccessKey)
    {
        File.AppendAllLines(CredentialsFile, [$"[{name}]", $"aws_access_key_id = {accessKeyId}", $"aws_secret_access_key = {secretAccessKey}", ""]);
        return this;
    }

    public void Dispose()
    {
        foreach (var (name, value) in _saved)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        File.WriteAllText(ConfigFile, "");
        File.WriteAllText(CredentialsFile, "");
    }
}
