using System.Collections.Frozen;
using System.Data.Common;

namespace Dsql.Npgsql.Internal;

/// <summary>What a connection string says, before defaults and the environment are consulted.</summary>
internal sealed class ParsedConnectionString
{
    public string? Host { get; set; }
    public int? Port { get; set; }
    public string? Username { get; set; }
    public string? Database { get; set; }
    public string? Region { get; set; }
    public string? Profile { get; set; }
    public TimeSpan? TokenDuration { get; set; }

    /// <summary>Every other Npgsql setting, passed through unchanged.</summary>
    public NpgsqlConnectionStringBuilder Npgsql { get; } = new();
}

/// <summary>
/// Reads the three textual forms: a bare host or cluster ID, a <c>postgres(ql)://</c> URI, and an Npgsql keyword string,
/// each with the DSQL settings <c>region</c>, <c>profile</c> and <c>token_duration_secs</c>.
/// </summary>
internal static class ConnectionStringParser
{
    private const string Example = "'abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws', 'postgresql://admin@<endpoint>:5432/postgres?region=us-east-1' or 'Host=<endpoint>;Username=admin'";

    internal static ParsedConnectionString Parse(string value)
    {
        var text = value.Trim();
        if (text.Length == 0)
        {
            throw new ArgumentException($"The DSQL connection string is empty. Pass a cluster endpoint, a cluster ID or a connection string, for example {Example}.", "hostClusterIdOrConnectionString");
        }

        if (TryStripScheme(text, out var rest))
        {
            return ParseUri(text, rest);
        }

        if (text.StartsWith("https://", StringComparison.OrdinalIgnoreCase) && !text.Contains('=', StringComparison.Ordinal))
        {
            // The endpoint as an https URL (how the AWS console and SDKs print it); the token generator strips the scheme.
            return new ParsedConnectionString { Host = text };
        }

        if (text.Contains("://", StringComparison.Ordinal))
        {
            throw new FormatException(
                $"'{Describe(text)}' uses an unsupported URI scheme; only 'postgresql://' and 'postgres://' are accepted, for example {Example}.");
        }

        return text.Contains('=', StringComparison.Ordinal) ? ParseKeywords(text) : new ParsedConnectionString { Host = text };
    }

    private static bool TryStripScheme(string text, out string rest)
    {
        foreach (var scheme in (string[])["postgresql://", "postgres://"])
        {
            if (text.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                rest = text[scheme.Length..];
                return true;
            }
        }

        rest = "";
        return false;
    }

    private static ParsedConnectionString ParseUri(string uri, string rest)
    {
        var result = new ParsedConnectionString();
        if (rest.Contains('#', StringComparison.Ordinal))
        {
            throw new FormatException($"The URI '{Describe(uri)}' has a '#' fragment, which a PostgreSQL URI cannot carry; percent-encode '#' as %23.");
        }

        var queryStart = rest.IndexOf('?', StringComparison.Ordinal);
        var query = queryStart < 0 ? "" : rest[(queryStart + 1)..];
        var beforeQuery = queryStart < 0 ? rest : rest[..queryStart];
        var pathStart = beforeQuery.IndexOf('/', StringComparison.Ordinal);
        var authority = pathStart < 0 ? beforeQuery : beforeQuery[..pathStart];
        var path = pathStart < 0 ? "" : beforeQuery[(pathStart + 1)..];

        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            if (userInfo.Contains(':', StringComparison.Ordinal))
            {
                throw PasswordNotAllowed("the URI's user information");
            }

            if (userInfo.Length > 0)
            {
                result.Username = Decode(userInfo, uri);
            }
        }

        ParseHostAndPort(authority, uri, result);

        if (path.Contains('/', StringComparison.Ordinal))
        {
            throw new FormatException($"The URI '{Describe(uri)}' has a path with more than one segment; the path is just the database name, for example '/postgres'.");
        }

        if (path.Length > 0)
        {
            result.Database = Decode(path, uri);
        }

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"The URI query parameter '{Decode(pair, uri)}' has no value; write it as name=value.");
            }

            ApplyUriParameter(result, Decode(pair[..equals], uri), Decode(pair[(equals + 1)..], uri), uri);
        }

        return result;
    }

    private static void ParseHostAndPort(string authority, string uri, ParsedConnectionString result)
    {
        if (authority.Contains(',', StringComparison.Ordinal))
        {
            throw new FormatException($"The URI '{Describe(uri)}' lists several hosts; a DSQL connection has exactly one cluster endpoint.");
        }

        string host;
        string? port = null;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"The URI '{Describe(uri)}' has an IPv6 host without a closing ']'.");
            }

            host = authority[1..close];
            var after = authority[(close + 1)..];
            if (after.Length > 0)
            {
                port = after.StartsWith(':') ? after[1..] : throw new FormatException($"The URI '{Describe(uri)}' has unexpected text '{after}' after its host.");
            }
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon < 0 ? authority : authority[..colon];
            port = colon < 0 ? null : authority[(colon + 1)..];
        }

        if (host.Length > 0)
        {
            result.Host = Decode(host, uri);
        }

        if (!string.IsNullOrEmpty(port))
        {
            result.Port = ParsePort(port, "port");
        }
    }

    // libpq URI parameters Npgsql knows under another keyword, passed through as they are.
    private static readonly FrozenDictionary<string, string> UriParameterKeywords = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["sslnegotiation"] = "SSL Negotiation", ["application_name"] = "Application Name", ["connect_timeout"] = "Timeout",
        ["sslrootcert"] = "Root Certificate", ["sslcert"] = "SSL Certificate", ["sslkey"] = "SSL Key",
        ["sslpassword"] = "SSL Password", ["options"] = "Options", ["target_session_attrs"] = "Target Session Attributes",
        ["client_encoding"] = "Client Encoding", ["keepalives_idle"] = "Keepalive",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static void ApplyUriParameter(ParsedConnectionString result, string name, string value, string uri)
    {
        switch (name.ToLowerInvariant())
        {
            case "region":
                result.Region = NotEmpty(value, name);
                return;
            case "profile":
                result.Profile = NotEmpty(value, name);
                return;
            case "token_duration_secs":
                result.TokenDuration = ParseTokenDuration(value, "token_duration_secs");
                return;
            case "host":
                result.Host = value;
                return;
            case "port":
                result.Port = ParsePort(value, "port");
                return;
            case "user":
                result.Username = value;
                return;
            case "dbname":
                result.Database = value;
                return;
            case "password":
                throw PasswordNotAllowed("the URI's 'password' parameter");
            case "sslmode":
                SetNpgsql(result, "SSL Mode", LibpqSslMode(value), name);
                return;
            case var parameter when UriParameterKeywords.TryGetValue(parameter, out var keyword):
                SetNpgsql(result, keyword, value, name);
                return;
            case "passfile":
                throw PasswordNotAllowed("the URI's 'passfile' parameter");
            default:
                // Any Npgsql keyword (for example 'Maximum Pool Size' or 'Include Error Detail') is passed through.
                SetNpgsqlOrThrow(result, name, value, $"The URI '{Describe(uri)}'");
                return;
        }
    }

    private static ParsedConnectionString ParseKeywords(string text)
    {
        var result = new ParsedConnectionString();
        RefuseEmptyDsqlSettings(text);
        DbConnectionStringBuilder generic;
        try
        {
            generic = new DbConnectionStringBuilder { ConnectionString = text };
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"The connection string is malformed: {e.Message} Write it as 'Key=Value;Key=Value', for example {Example}.", e);
        }

        foreach (string key in generic.Keys)
        {
            var value = Convert.ToString(generic[key], CultureInfo.InvariantCulture) ?? "";
            switch (Normalize(key))
            {
                case "region":
                    result.Region = NotEmpty(value, key);
                    continue;
                case "profile":
                    result.Profile = NotEmpty(value, key);
                    continue;
                case "tokendurationsecs" or "tokenduration":
                    result.TokenDuration = ParseTokenDuration(value, key);
                    continue;
                default:
                    SetNpgsqlOrThrow(result, key, value, "The connection string");
                    continue;
            }
        }

        // Lift the identity settings out of the pass-through; they are first-class options.
        var npgsql = result.Npgsql;
        var present = CanonicalKeys(npgsql);
        if (present.Contains("Password"))
        {
            throw PasswordNotAllowed("the connection string's Password keyword");
        }

        if (present.Contains("Passfile"))
        {
            throw PasswordNotAllowed("the connection string's Passfile keyword");
        }

        if (present.Contains("Host"))
        {
            result.Host = npgsql.Host;
            npgsql.Remove("Host");
            if (result.Host is not null && result.Host.Contains(',', StringComparison.Ordinal))
            {
                throw new FormatException($"The connection string lists several hosts ('{result.Host}'); a DSQL connection has exactly one cluster endpoint.");
            }
        }

        if (present.Contains("Port"))
        {
            result.Port = npgsql.Port;
            npgsql.Remove("Port");
        }

        if (present.Contains("Username"))
        {
            result.Username = npgsql.Username;
            npgsql.Remove("Username");
        }

        if (present.Contains("Database"))
        {
            result.Database = npgsql.Database;
            npgsql.Remove("Database");
        }

        return result;
    }

    /// <summary>The canonical Npgsql keywords explicitly set on <paramref name="builder"/>.</summary>
    internal static HashSet<string> CanonicalKeys(NpgsqlConnectionStringBuilder builder)
    {
        // NpgsqlConnectionStringBuilder stores explicitly set values under their canonical keyword.
        var generic = new DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };
        var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (string key in generic.Keys)
        {
            keys.Add(key);
        }

        return keys;
    }

    private static void SetNpgsql(ParsedConnectionString result, string keyword, string value, string parameter)
    {
        try
        {
            result.Npgsql[keyword] = value;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            throw new ArgumentException($"The value '{value}' of '{parameter}' is not valid for Npgsql's '{keyword}' setting: {e.Message}", parameter, e);
        }
    }

    private static void SetNpgsqlOrThrow(ParsedConnectionString result, string keyword, string value, string where)
    {
        if (!IsNpgsqlKeyword(keyword))
        {
            throw new ArgumentException(
                $"{where} has the setting '{keyword}', which is neither a DSQL setting (region, profile, token_duration_secs) nor an Npgsql keyword. " +
                "Check its spelling; see https://www.npgsql.org/doc/connection-string-parameters.html for Npgsql's keywords.",
                keyword);
        }

        try
        {
            result.Npgsql[keyword] = value;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            throw new ArgumentException($"{where} sets '{keyword}' to '{Redact(keyword, value)}', which Npgsql does not accept: {e.Message}", keyword, e);
        }
    }

    private static bool IsNpgsqlKeyword(string keyword)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder().ContainsKey(keyword);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    // An empty value is a mistake (an unset variable in a template such as '?profile=${PROFILE}'), never "not given":
    // treating it as absent would sign with a different identity or region than the one the user meant.
    private static string NotEmpty(string value, string setting)
        => value.Trim().Length > 0
            ? value.Trim()
            : throw new ArgumentException(
                $"The connection string's '{setting}' setting is empty. Give a value (for example region=us-east-1 or profile=dev) or remove the setting "
                + "to use the default (the endpoint's region; the default AWS credential chain).",
                "hostClusterIdOrConnectionString");

    // DbConnectionStringBuilder silently drops a keyword whose value is empty, so look at the text itself.
    private static void RefuseEmptyDsqlSettings(string text)
    {
        foreach (var pair in text.Split(';'))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && Normalize(pair[..equals].Trim()) is "region" or "profile")
            {
                NotEmpty(pair[(equals + 1)..], pair[..equals].Trim());
            }
        }
    }

    private static string LibpqSslMode(string value) => value.ToLowerInvariant() switch
    {
        "disable" => nameof(SslMode.Disable),
        "allow" => nameof(SslMode.Allow),
        "prefer" => nameof(SslMode.Prefer),
        "require" => nameof(SslMode.Require),
        "verify-ca" => nameof(SslMode.VerifyCA),
        "verify-full" => nameof(SslMode.VerifyFull),
        _ => value,
    };

    internal static int ParsePort(string value, string parameter)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"The port '{value}' is not a TCP port; use a whole number from 1 to 65535 (DSQL listens on 5432).", parameter);
        }

        return port;
    }

    internal static TimeSpan ParseTokenDuration(string value, string parameter)
    {
        var trimmed = value.Trim();
        if (!long.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
        {
            throw new FormatException(
                $"The token duration '{value}' ({parameter}) is not a whole number of seconds; use 1 to 604800, for example token_duration_secs=900.");
        }

        if (seconds < 1 || seconds > (long)DsqlAuthTokenGenerator.MaxExpiresIn.TotalSeconds)
        {
            throw new ArgumentOutOfRangeException(
                parameter, seconds, $"The token duration {seconds} s ({parameter}) is out of range; DSQL tokens live 1 to 604800 seconds (7 days).");
        }

        return TimeSpan.FromSeconds(seconds);
    }

    private static string Normalize(string key)
        => key.Replace(" ", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();

    private static string Decode(string value, string uri)
    {
        try
        {
            return Uri.UnescapeDataString(value);
        }
        catch (UriFormatException e)
        {
            throw new FormatException($"The URI '{Describe(uri)}' has an invalid percent-encoding in '{value}'.", e);
        }
    }

    private static ArgumentException PasswordNotAllowed(string where)
        => new(
            $"A password was given in {where}. DSQL connections authenticate with IAM tokens the connector generates for every " +
            "connection; remove the password and configure AWS credentials (environment, profile, or DsqlConnectionOptions.WithCredentials).",
            "hostClusterIdOrConnectionString");

    /// <summary>The connection string for an error message, with any password removed.</summary>
    private static string Describe(string text)
    {
        if (!TryStripScheme(text, out _))
        {
            return text;
        }

        // postgresql://user:secret@host → postgresql://user:***@host
        var schemeEnd = text.IndexOf("://", StringComparison.Ordinal) + 3;
        var at = text.IndexOf('@', schemeEnd);
        var colon = at < 0 ? -1 : text.IndexOf(':', schemeEnd, at - schemeEnd);
        var redacted = colon < 0 ? text : string.Concat(text.AsSpan(0, colon + 1), "***", text.AsSpan(at));
        var password = redacted.IndexOf("password=", StringComparison.OrdinalIgnoreCase);
        if (password >= 0)
        {
            var end = redacted.IndexOf('&', password);
            redacted = string.Concat(redacted.AsSpan(0, password), "password=***", end < 0 ? "" : redacted[end..]);
        }

        return redacted;
    }

    private static string Redact(string keyword, string value)
        => Normalize(keyword).Contains("password", StringComparison.Ordinal) ? "***" : value;
}
