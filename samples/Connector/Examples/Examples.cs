using Dsql.Npgsql;

namespace Dsql.Samples.Connector;

/// <summary>The examples, by the name that runs them.</summary>
public static class Examples
{
    /// <summary>Every example, in the order <c>all</c> runs them.</summary>
    public static IReadOnlyDictionary<string, Func<DsqlConnectionOptions, Task>> ByName { get; } = new Dictionary<string, Func<DsqlConnectionOptions, Task>>
    {
        ["basic"] = options =>
        {
            BasicConnection.Run(options);
            return Task.CompletedTask;
        },
        ["async"] = AsyncConnection.RunAsync,
        ["pool"] = DataSourcePool.RunAsync,
        ["concurrent"] = ConcurrentPool.RunAsync,
        ["single"] = SingleConnection.RunAsync,
        ["dapper"] = DapperTransfer.RunAsync,
    };
}
