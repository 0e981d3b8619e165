using System.Data;
using Dapper;
using Dsql.Npgsql;
using Npgsql;

namespace Dsql.Samples.Connector;

/// <summary>
/// Dapper over the connector's data source: a transfer between two accounts as one <c>REPEATABLE READ</c> unit. DSQL
/// checks conflicts at <c>COMMIT</c>; a unit that fails with <c>40001</c> must be run again as a whole.
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
            await using (var connection = await dataSource.OpenConnectionAsync())
            {
                await connection.ExecuteAsync(
                    "INSERT INTO connector_accounts (id, owner, balance) VALUES (@Id, @Owner, @Balance)",
                    new[] { new Account(alice, "alice", 100), new Account(bob, "bob", 0) });
            }

            await TransferAsync(dataSource, alice, bob, 30);

            await using (var connection = await dataSource.OpenConnectionAsync())
            {
                var accounts = await connection.QueryAsync<Account>("SELECT id, owner, balance FROM connector_accounts ORDER BY owner");
                Console.WriteLine($"dapper: after the transfer {string.Join(", ", accounts.Select(a => $"{a.Owner} has {a.Balance}"))}");
            }
        }
        finally
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await connection.ExecuteAsync("DROP TABLE IF EXISTS connector_accounts");
        }
    }

    private static async Task TransferAsync(NpgsqlDataSource dataSource, Guid from, Guid to, long amount)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead);
        var balance = await connection.ExecuteScalarAsync<long>("SELECT balance FROM connector_accounts WHERE id = @from", new { from }, transaction);
        if (balance < amount)
        {
            throw new InvalidOperationException($"The source account has {balance}, less than {amount}.");
        }

        await connection.ExecuteAsync("UPDATE connector_accounts SET balance = balance - @amount WHERE id = @from", new { amount, from }, transaction);
        await connection.ExecuteAsync("UPDATE connector_accounts SET balance = balance + @amount WHERE id = @to", new { amount, to }, transaction);
        await transaction.CommitAsync();
    }

    /// <summary>An account row.</summary>
    public sealed record Account(Guid Id, string Owner, long Balance);
}
