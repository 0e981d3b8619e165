namespace Dsql.Local.Rules;

/// <summary>
/// The start-up parameters a client may pass on to its backend session: only DSQL's documented session parameters,
/// whether sent as parameters of their own or inside <c>options</c> (<c>-c name=value</c>, <c>--name=value</c>). Anything
/// else would reach the backend as given, including settings a DSQL session can never change.
/// </summary>
internal static class StartupParameters
{
    /// <summary>Parameters the proxy itself reads or sets; never passed on from the client.</summary>
    private static readonly HashSet<string> HandledByProxy = new(StringComparer.Ordinal) { "user", "database", "replication" };

    /// <summary>
    /// The parameters to start the backend session with (<paramref name="allowed"/>), or the FATAL error refusing the start-up.
    /// </summary>
    public static PgError? Filter(IReadOnlyDictionary<string, string> client, out Dictionary<string, string> allowed)
    {
        allowed = new Dictionary<string, string>(StringComparer.Ordinal);
        return FilterCore(client, allowed) is { } refusal ? new PgError("FATAL", refusal.SqlState, refusal.Message) : null;
    }

    private static (string SqlState, string Message)? FilterCore(IReadOnlyDictionary<string, string> client, Dictionary<string, string> allowed)
    {
        foreach (var (name, value) in client)
        {
            var lowered = name.ToLowerInvariant();
            if (HandledByProxy.Contains(lowered) || lowered.StartsWith("_pq_.", StringComparison.Ordinal))
            {
                // Protocol extensions are not negotiated through the proxy: the backend session speaks plain 3.0.
                continue;
            }

            if (lowered == "options")
            {
                if (ParseOptions(value, allowed) is { } refusal)
                {
                    return refusal;
                }

                continue;
            }

            if (!DsqlDialect.IsSessionParameter(lowered))
            {
                return ("0A000", $"setting configuration parameter \"{name}\" not supported");
            }

            allowed[lowered] = value;
        }

        return null;
    }

    private static (string SqlState, string Message)? ParseOptions(string options, Dictionary<string, string> allowed)
    {
        var arguments = Split(options);
        for (var i = 0; i < arguments.Count; i++)
        {
            var argument = arguments[i];
            string setting;
            if (argument == "-c" && i + 1 < arguments.Count)
            {
                setting = arguments[++i];
            }
            else if (argument.StartsWith("-c", StringComparison.Ordinal) && argument.Length > 2)
            {
                setting = argument[2..];
            }
            else if (argument.StartsWith("--", StringComparison.Ordinal) && argument.Length > 2)
            {
                setting = argument[2..];
            }
            else
            {
                return ("42601", $"invalid command-line argument for server process: {argument}");
            }

            var equals = setting.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                return ("42601", $"invalid command-line argument for server process: {argument}");
            }

            // PostgreSQL accepts '-' for '_' in names given on the command line.
            var name = setting[..equals].Replace('-', '_').ToLowerInvariant();
            if (!DsqlDialect.IsSessionParameter(name))
            {
                return ("0A000", $"setting configuration parameter \"{setting[..equals]}\" not supported");
            }

            allowed[name] = setting[(equals + 1)..];
        }

        return null;
    }

    /// <summary>Splits <c>options</c> as PostgreSQL does: on white space, a backslash taking the next character literally.</summary>
    private static List<string> Split(string options)
    {
        var arguments = new List<string>();
        var current = new StringBuilder();
        var inArgument = false;
        for (var i = 0; i < options.Length; i++)
        {
            var c = options[i];
            if (char.IsWhiteSpace(c))
            {
                if (inArgument)
                {
                    arguments.Add(current.ToString());
                    current.Clear();
                    inArgument = false;
                }

                continue;
            }

            inArgument = true;
            if (c == '\\' && i + 1 < options.Length)
            {
                c = options[++i];
            }

            current.Append(c);
        }

        if (inArgument)
        {
            arguments.Add(current.ToString());
        }

        return arguments;
    }
}
