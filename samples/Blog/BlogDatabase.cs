using Amazon.Runtime;
using Dsql.Local;
using Dsql.Npgsql;
using Microsoft.EntityFrameworkCore;
using Blog.Model;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Blog;

/// <summary>
/// Where the sample's data lives: the Aurora DSQL cluster named by <c>DSQL_ENDPOINT</c> (credentials from the usual
/// AWS settings), or, when that is not set, a Dsql.Local emulator started in-process with its own PostgreSQL and IAM
/// checks on (throw-away credentials).
/// </summary>
public sealed class BlogDatabase : IAsyncDisposable
{
    private readonly DsqlConnectionOptions? _cluster;
    private DsqlLocalServer? _emulator;
    private DsqlConnectionOptions? _emulatorOptions;

    /// <summary>Reads <c>DSQL_ENDPOINT</c> (and optionally <c>DSQL_USER</c>); no I/O.</summary>
    public BlogDatabase(IConfiguration configuration)
    {
        var endpoint = configuration["DSQL_ENDPOINT"];
        if (!string.IsNullOrWhiteSpace(endpoint))
        {
            _cluster = DsqlConnectionOptions.Parse(endpoint);
            if (configuration["DSQL_USER"] is { Length: > 0 } user)
            {
                _cluster = _cluster.WithUsername(user);
            }
        }
    }

    /// <summary>Whether the sample runs on the local emulator rather than a real cluster.</summary>
    public bool IsEmulator => _cluster is null;

    /// <summary>The connection options of the cluster or the started emulator.</summary>
    public DsqlConnectionOptions ConnectionOptions
        => _cluster ?? _emulatorOptions ?? throw new InvalidOperationException(
            "DSQL_ENDPOINT is not set and the local emulator has not been started (BlogDatabase.StartAsync). For dotnet ef, pass the cluster: dotnet ef database update -- --endpoint <cluster endpoint>, or set DSQL_ENDPOINT.");

    /// <summary>Describes the target for the start-up banner.</summary>
    public string Description => _cluster is { } c
        ? $"Aurora DSQL cluster {c.Host} ({c.Region}) as {c.Username}"
        : $"Dsql.Local emulator on {_emulator?.Host}:{_emulator?.Port} (own PostgreSQL, IAM checks on, throw-away credentials)";

    /// <summary>Applies the sample's settings to <c>UseAuroraDsql</c>.</summary>
    public void Configure(DsqlDbContextOptionsBuilder dsql)
    {
        if (_emulator is { } emulator)
        {
            // The emulator accepts tokens signed with its throw-away key pair, like DSQL accepts your IAM identity's.
            dsql.Credentials(new BasicAWSCredentials(emulator.Credential.AccessKeyId, emulator.Credential.SecretAccessKey));
        }
    }

    /// <summary>Starts the emulator when no cluster is configured.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_cluster is not null || _emulator is not null)
        {
            return;
        }

        _emulator = await DsqlLocalServer.StartAsync(new DsqlLocalOptions(), cancellationToken);

        // Tokens are signed for the emulator's endpoint name and region, and its certificate is verified against the root
        // it wrote out, exactly as a cluster endpoint's is against the public CAs.
        _emulatorOptions = DsqlConnectionOptions
            .Parse($"Host={_emulator.Endpoint};Port={_emulator.Port};SSL Mode=VerifyFull;Root Certificate={_emulator.RootCertificatePath}", _emulator.Region);
    }

    /// <summary>Applies the checked-in migrations (the DSQL migrator: one DDL per transaction, index builds awaited).</summary>
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<BlogContext>();
        await context.Database.MigrateAsync(cancellationToken);
    }

    /// <summary>Disposes the database when the host stops (the host awaits this, unlike the end of <c>Main</c>).</summary>
    public sealed class StopOnShutdown(BlogDatabase database) : IHostedService
    {
        /// <inheritdoc />
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        /// <inheritdoc />
        public Task StopAsync(CancellationToken cancellationToken) => database.DisposeAsync().AsTask();
    }

    /// <summary>Stops the emulator (and its PostgreSQL).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _emulator, null) is { } emulator)
        {
            await emulator.DisposeAsync();
        }
    }
}
