namespace Microsoft.EntityFrameworkCore.Dsql.Design.Internal;

/// <summary>
/// Lets a design-time context be created without a cluster, so commands that never connect (<c>migrations add</c>,
/// <c>migrations script</c>) work offline, and refuses, with the message saying how to give
/// a cluster, the first connection a command tries to open to the placeholder endpoint.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed class DsqlMissingEndpointInterceptor(string message) : DbConnectionInterceptor
{
    /// <summary>The host that stands in for the cluster; <c>.invalid</c> never resolves.</summary>
    public const string PlaceholderHost = "dsql-endpoint-not-configured.invalid";

    /// <summary>Connector options for the placeholder endpoint.</summary>
    public static DsqlConnectionOptions PlaceholderOptions { get; } = DsqlConnectionOptions.Parse(PlaceholderHost, "us-east-1");

    /// <inheritdoc />
    public override InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        ThrowIfPlaceholder(connection);
        return result;
    }

    /// <inheritdoc />
    public override ValueTask<InterceptionResult> ConnectionOpeningAsync(
        DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        ThrowIfPlaceholder(connection);
        return ValueTask.FromResult(result);
    }

    // dotnet ef ... --connection "<endpoint>" replaces the placeholder; then the connection goes ahead.
    private void ThrowIfPlaceholder(DbConnection connection)
    {
        // Npgsql reports a data source's connection as tcp://host:port until it is open.
        if (connection.DataSource is { } dataSource && dataSource.Contains("//" + PlaceholderHost + ":", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(message);
        }
    }
}
