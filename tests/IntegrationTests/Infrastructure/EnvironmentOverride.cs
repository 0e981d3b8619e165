namespace EFCore.Dsql.IntegrationTests.Infrastructure;

/// <summary>Sets environment variables until disposed, then restores them (the suite's tests run one at a time).</summary>
public sealed class EnvironmentOverride : IDisposable
{
    private readonly List<(string Name, string? Value)> _previous = [];

    private EnvironmentOverride()
    {
    }

    /// <summary>Sets each variable (null removes it).</summary>
    public static EnvironmentOverride Set(params (string Name, string? Value)[] variables)
    {
        var result = new EnvironmentOverride();
        foreach (var (name, value) in variables)
        {
            result._previous.Add((name, Environment.GetEnvironmentVariable(name)));
            Environment.SetEnvironmentVariable(name, value);
        }

        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (name, value) in _previous)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
    }
}
