using Dsql.Npgsql.Internal;
using Npgsql;

namespace Dsql.Npgsql;

/// <summary>Maintenance of the commit-marker table of <see cref="DsqlCommitMarkerOptions"/>.</summary>
public static class DsqlCommitMarkers
{
    /// <summary>
    /// Deletes the markers older than <see cref="DsqlCommitMarkerOptions.Retention"/>, in transactions of at most 1,000
    /// rows each (DSQL allows 3,000 per transaction), until none is left. Run it periodically (a background job, a timer)
    /// from one place; concurrent runs conflict harmlessly (<c>40001</c>, safe to repeat).
    /// </summary>
    /// <param name="connection">A connection outside any transaction; opened if closed (and closed again).</param>
    /// <param name="options">The marker settings; <see cref="DsqlCommitMarkerOptions.Default"/> when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels between and during batches.</param>
    /// <returns>How many markers were deleted.</returns>
    public static async Task<long> DeleteExpiredAsync(
        NpgsqlConnection connection, DsqlCommitMarkerOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        options = (options ?? DsqlCommitMarkerOptions.Default).Validated();
        var opened = connection.State == System.Data.ConnectionState.Closed;
        if (opened)
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            long total = 0;
            int deleted;
            do
            {
                deleted = await DsqlCommitMarkerStore.DeleteExpiredBatchAsync(connection, options, cancellationToken).ConfigureAwait(false);
                total += deleted;
            }
            while (deleted == DsqlCommitMarkerStore.DeleteBatchSize);

            return total;
        }
        finally
        {
            if (opened)
            {
                await connection.CloseAsync().ConfigureAwait(false);
            }
        }
    }
}
