namespace Dsql.Npgsql.Internal;

/// <summary>
/// Writes <see cref="DsqlConnectionOptions"/> onto an <see cref="NpgsqlConnectionStringBuilder"/>: identity, pass-through
/// settings, explicit overrides, then the DSQL-safe defaults for whatever neither the options nor the builder set.
/// </summary>
internal static class DsqlNpgsqlSettings
{
    internal static void Apply(NpgsqlConnectionStringBuilder target, DsqlConnectionOptions options)
    {
        var explicitlySet = ConnectionStringParser.CanonicalKeys(target);
        if (explicitlySet.Contains("Password") || explicitlySet.Contains("Passfile"))
        {
            throw new InvalidOperationException(
                "The Npgsql connection string carries a Password or Passfile, but DSQL authentication supplies an IAM token for every " +
                "connection. Remove the password from the connection string.");
        }

        target.Host = options.Host;
        target.Port = options.Port;
        target.Username = options.Username;
        target.Database = options.Database;

        if (options.NpgsqlSettings.Length > 0)
        {
            var passThrough = new NpgsqlConnectionStringBuilder(options.NpgsqlSettings);
            foreach (var keyword in ConnectionStringParser.CanonicalKeys(passThrough))
            {
                target[keyword] = passThrough[keyword];
                explicitlySet.Add(keyword);
            }
        }

        // Explicit options win; then whatever the builder already said; then DSQL's defaults. VerifyFull for every host, not
        // only *.dsql*.on.aws: behind a CNAME, a private DNS name or an IP, Npgsql's Prefer would check no certificate and
        // fall back to plain text, sending the IAM token unencrypted.
        if (options.SslMode is { } sslMode)
        {
            target.SslMode = sslMode;
        }
        else if (!explicitlySet.Contains("SSL Mode"))
        {
            target.SslMode = SslMode.VerifyFull;
        }

        // Direct TLS saves a round trip, and DSQL endpoints accept it (AWS's connectors use it); a tunnel or emulator may not.
        if (!explicitlySet.Contains("SSL Negotiation") && options.IsDsqlEndpoint && target.SslMode >= SslMode.Require)
        {
            target.SslNegotiation = SslNegotiation.Direct;
        }

        if (options.ConnectionLifetime is { } lifetime)
        {
            target.ConnectionLifetime = (int)lifetime.TotalSeconds;
        }
        else if (!explicitlySet.Contains("Connection Lifetime"))
        {
            target.ConnectionLifetime = (int)DsqlConnectionOptions.DefaultConnectionLifetime.TotalSeconds;
        }

        if (options.ApplicationName is not null)
        {
            target.ApplicationName = options.ApplicationName;
        }
        else if (!explicitlySet.Contains("Application Name"))
        {
            target.ApplicationName = DsqlConnectionOptions.DefaultApplicationName;
        }

        // DSQL refuses DISCARD ALL, which Npgsql sends when a pooled connection is returned.
        if (!explicitlySet.Contains("No Reset On Close"))
        {
            target.NoResetOnClose = true;
        }

        // DSQL has no two-phase commit (PREPARE TRANSACTION), so System.Transactions enlistment cannot work.
        if (!explicitlySet.Contains("Enlist"))
        {
            target.Enlist = false;
        }
    }
}
