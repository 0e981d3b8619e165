using Dsql.Npgsql;

// Extension methods live in Npgsql's namespace so they appear wherever an NpgsqlDataSourceBuilder is in scope.
// ReSharper disable once CheckNamespace
namespace Npgsql;

/// <summary>Amazon Aurora DSQL IAM authentication for <see cref="NpgsqlDataSourceBuilder"/>.</summary>
public static class DsqlNpgsqlDataSourceBuilderExtensions
{
    /// <summary>
    /// Configures the builder for DSQL: host, port, role and database from <paramref name="options"/>, its pass-through
    /// settings and overrides, the DSQL-safe defaults (<c>SSL Mode=VerifyFull</c> with direct TLS for DSQL endpoints,
    /// <c>Connection Lifetime=3300</c>, <c>No Reset On Close=true</c>, <c>Enlist=false</c>, the connector's
    /// <c>Application Name</c>) for settings neither the options nor the builder set, and a password provider that
    /// generates a fresh IAM token for every physical connection (asynchronously on the async path).
    /// </summary>
    /// <param name="builder">The builder, for example the one EF Core's <c>ConfigureDataSource</c> hands over.</param>
    /// <param name="options">The DSQL options.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="InvalidOperationException">The builder's connection string carries a password.</exception>
    /// <exception cref="ArgumentException">The options name a profile that does not exist.</exception>
    public static NpgsqlDataSourceBuilder UseDsqlAuthentication(this NpgsqlDataSourceBuilder builder, DsqlConnectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return builder.UseDsqlAuthentication(new DsqlAuthTokenProvider(options));
    }

    /// <summary>
    /// Like <see cref="UseDsqlAuthentication(NpgsqlDataSourceBuilder, DsqlConnectionOptions)"/>, logging through
    /// <paramref name="loggerFactory"/>: Npgsql's own logs, and the connector's (category <c>Dsql.Npgsql</c>: where the
    /// credentials came from, each token's lifetime; never a token or a secret).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="options">The DSQL options.</param>
    /// <param name="loggerFactory">The application's logger factory; <see langword="null"/> for no logs.</param>
    /// <returns>The same builder.</returns>
    public static NpgsqlDataSourceBuilder UseDsqlAuthentication(this NpgsqlDataSourceBuilder builder, DsqlConnectionOptions options, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        if (loggerFactory is not null)
        {
            builder.UseLoggerFactory(loggerFactory);
        }

        return builder.UseDsqlAuthentication(new DsqlAuthTokenProvider(options, loggerFactory));
    }

    /// <summary>Like <see cref="UseDsqlAuthentication(NpgsqlDataSourceBuilder, DsqlConnectionOptions)"/>, sharing a token provider (and its resolved credentials).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="tokenProvider">The token provider; its <see cref="DsqlAuthTokenProvider.Options"/> configure the builder.</param>
    /// <returns>The same builder.</returns>
    public static NpgsqlDataSourceBuilder UseDsqlAuthentication(this NpgsqlDataSourceBuilder builder, DsqlAuthTokenProvider tokenProvider)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(tokenProvider);
        DsqlNpgsqlSettings.Apply(builder.ConnectionStringBuilder, tokenProvider.Options);
        builder.UsePasswordProvider(
            _ => tokenProvider.GenerateToken(),
            (_, cancellationToken) => tokenProvider.GenerateTokenAsync(cancellationToken));
        return builder;
    }

    /// <summary>
    /// Configures a trimming/AOT-friendly <see cref="NpgsqlSlimDataSourceBuilder"/> for DSQL, exactly as
    /// <see cref="UseDsqlAuthentication(NpgsqlDataSourceBuilder, DsqlConnectionOptions)"/> does.
    /// </summary>
    /// <param name="builder">The slim builder.</param>
    /// <param name="options">The DSQL options.</param>
    /// <returns>The same builder.</returns>
    public static NpgsqlSlimDataSourceBuilder UseDsqlAuthentication(this NpgsqlSlimDataSourceBuilder builder, DsqlConnectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var tokenProvider = new DsqlAuthTokenProvider(options);
        DsqlNpgsqlSettings.Apply(builder.ConnectionStringBuilder, options);
        builder.UsePasswordProvider(
            _ => tokenProvider.GenerateToken(),
            (_, cancellationToken) => tokenProvider.GenerateTokenAsync(cancellationToken));
        return builder;
    }

    /// <summary>
    /// Configures DSQL authentication from the builder's own connection string (its host, port, role and database), with
    /// the region read from the host, <paramref name="region"/> or the AWS environment.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="region">The region, when the host is not a DSQL endpoint and the environment has none.</param>
    /// <returns>The same builder.</returns>
    public static NpgsqlDataSourceBuilder UseDsqlAuthentication(this NpgsqlDataSourceBuilder builder, string? region = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = DsqlConnectionOptions.Parse(builder.ConnectionString, region);
        return builder.UseDsqlAuthentication(options);
    }
}
