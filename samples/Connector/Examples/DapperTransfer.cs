using Dapper;
using Dsql.Npgsql;
using Npgsql;

namespace Dsql.Samples.Connector;

/// <summary>
/// Dapper over the connector's data source, with <c>DsqlRetry</c>: a transfer between two accounts as one
/// <c>REPEATABLE READ</c> unit that is run again as a whole when DSQL reports a conflict (<c>40001</c>) at commit.
/// </summary>
public static class DapperTransfer
{
    /// <summary>Runs the example.</summary>
    public static async Task RunAsync(DsqlConnectionOptions options)
    {
        await using var dataSource = DsqlDataSource.Create(options);
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS connector_accounts (id uuid PRIMARY KEY, owner varchar(30) NOT NULL, balance bigint NOT NULL)");
        }

        try
        {
            var (alice, bob) = (Guid.NewGuid(), Guid.NewGuid());
            await DsqlRetry.ExecuteAsync(dataSource, (connection, _) => connection.ExecuteAsync(
                "INSERT INTO connector_accounts (id, owner, balance) VALUES (@Id, @Owner, @Balance)",
                new[] { new Account(alice, "alice", 100), new Account(bob, "bob", 0) }));

            // Several transfers at once from one account: conflicting commits are retried, none is lost or applied twice.
            await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => TransferAsync(dataSource, alice, bob, 10)));

            var accounts = await DsqlRetry.ExecuteAsync(dataSource, (connection, _) =>
                connection.QueryAsync<Account>("SELECT id, owner, balance FROM connector_accounts ORDER BY owner"));
            Console.WriteLine($"dapper: after three transfers {string.Join(", ", accounts.Select(a => $"{a.Owner} has {a.Balance}"))}");
        }
        finally
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await connection.ExecuteAsync("DROP TABLE IF EXISTS connector_accounts");
        }
    }

    // DsqlRetry opens a connection, begins a REPEATABLE READ transaction (commands on the connection take part in it),
    // runs the unit and commits; a conflict or a dropped connection runs the whole unit again.
    private static Task TransferAsync(NpgsqlDataSource dataSource, Guid from, Guid to, long amount)
        => DsqlRetry.ExecuteAsync(dataSource, async (connection, _) =>
        {
            var balance = await connection.ExecuteScalarAsync<long>("SELECT balance FROM connector_accounts WHERE id = @from", new { from });
            if (balance < amount)
            {
                throw new InvalidOperationException($"The source account has {balance}, less than {amount}.");
            }

            await connection.ExecuteAsync("UPDATE connector_accounts SET balance = balance - @amount WHERE id = @from", new { amount, from });
            await connection.ExecuteAsync("UPDATE connector_accounts SET balance = balance + @amount WHERE id = @to", new { amount, to });
        });

    /// <summary>An account row.</summary>
    public sealed record Account(Guid Id, string Owner, long Balance);
}
