using System.Diagnostics;

namespace EFCore.Dsql.FunctionalTests.Infrastructure;

/// <summary>How the tests set up the processes they start (the tools, the samples, published apps).</summary>
public static class ProcessStartInfoExtensions
{
    /// <summary>Sets each variable of <paramref name="environment"/> in the child's environment, or removes it where the value is null.</summary>
    public static ProcessStartInfo WithEnvironment(this ProcessStartInfo start, IEnumerable<KeyValuePair<string, string?>> environment)
    {
        foreach (var (name, value) in environment)
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        return start;
    }
}
