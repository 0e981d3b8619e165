using System.Reflection;

namespace Dsql.Npgsql.Internal;

/// <summary>The connector's name and version, sent as <c>application_name</c> so DSQL can tell its clients apart.</summary>
internal static class ConnectorVersion
{
    internal const string Name = "dsql-npgsql";

    /// <summary>The package version without build metadata, for example <c>0.1.0</c>.</summary>
    internal static string Version { get; } = ReadVersion();

    /// <summary>The default <c>application_name</c>, for example <c>dsql-npgsql/0.1.0</c>.</summary>
    internal static string ApplicationName { get; } = $"{Name}/{Version}";

    private static string ReadVersion()
    {
        var informational = typeof(ConnectorVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(informational))
        {
            return typeof(ConnectorVersion).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        }

        // "0.1.0+<commit>" carries the SourceLink commit; the name only needs the version.
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? informational : informational[..plus];
    }
}
