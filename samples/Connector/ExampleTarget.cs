using Amazon.Runtime;
using Dsql.Local;
using Dsql.Npgsql;

namespace Dsql.Samples.Connector;

/// <summary>
/// Where the examples connect: the cluster <c>DSQL_ENDPOINT</c> names (credentials from the AWS default chain), or a
/// Dsql.Local emulator started in-process when it is not set.
/// </summary>
public sealed class ExampleTarget : IAsyncDisposable
{
    private readonly DsqlLocalServer? _emulator;

    private ExampleTarget(DsqlConnectionOptions options, DsqlLocalServer? emulator)
    {
        Options = options;
        _emulator = emulator;
    }

    /// <summary>The connection options every example starts from.</summary>
    public DsqlConnectionOptions Options { get; }

    /// <summary>What the examples run against, for the first line of output (never a secret).</summary>
    public string Description => _emulator is { } emulator
        ? $"Dsql.Local emulator on {emulator.Host}:{emulator.Port} (own PostgreSQL, IAM checks on, throw-away credentials) as {Options.Username}"
        : $"Aurora DSQL cluster {Options.Host} ({Options.Region}) as {Options.Username}";

    /// <summary>Parses <paramref name="endpoint"/>, or starts the emulator when it is empty.</summary>
    public static async Task<ExampleTarget> StartAsync(string? endpoint, string? user)
    {
        if (!string.IsNullOrWhiteSpace(endpoint))
        {
            var options = DsqlConnectionOptions.Parse(endpoint);
            return new ExampleTarget(string.IsNullOrWhiteSpace(user) ? options : options.WithUsername(user), null);
        }

        var emulator = await DsqlLocalServer.StartAsync(new DsqlLocalOptions());
        // Tokens are signed for the emulator's name and region with its throw-away key pair, exactly as for a cluster.
        // Its certificate is its own, so TLS is required without verifying it; a cluster endpoint gets VerifyFull.
        var local = DsqlConnectionOptions
            .Parse($"postgresql://admin@{emulator.Endpoint}:{emulator.Port}/postgres?sslmode={(emulator.TlsEnabled ? "require" : "disable")}", emulator.Region)
            .WithCredentials(new BasicAWSCredentials(emulator.Credential.AccessKeyId, emulator.Credential.SecretAccessKey));
        if (!string.IsNullOrWhiteSpace(user) && user != "admin")
        {
            // As on DSQL, admin creates the role and maps it to the IAM identity that connects (the emulator's key stands for one).
            await using var admin = DsqlDataSource.Create(local);
            await using var create = admin.CreateCommand($"CREATE ROLE \"{user}\" WITH LOGIN");
            await create.ExecuteNonQueryAsync();
            await using var grant = admin.CreateCommand($"AWS IAM GRANT \"{user}\" TO '{emulator.Credential.EffectiveIamArn}'");
            await grant.ExecuteNonQueryAsync();
        }

        return new ExampleTarget(string.IsNullOrWhiteSpace(user) ? local : local.WithUsername(user), emulator);
    }

    /// <summary>Stops the emulator, if one was started.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }
}
