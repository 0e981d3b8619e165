using System.Reflection;
using Microsoft.EntityFrameworkCore.Dsql.Design.Internal;
using Microsoft.Extensions.Configuration;

// ReSharper disable once CheckNamespace
namespace Microsoft.EntityFrameworkCore.Design;

/// <summary>
/// Creates a <typeparamref name="TContext"/> for <c>dotnet ef</c> (migrations, <c>database update</c>, scripts and
/// bundles) connected to Aurora DSQL with IAM authentication, reading the cluster from the configuration the
/// application's host would read. Subclass it in one line:
/// <code>public sealed class BlogContextFactory : DsqlDesignTimeDbContextFactory&lt;BlogContext&gt;;</code>
/// </summary>
/// <remarks>
/// <para>
/// It lives in the runtime package <c>EFCore.Dsql</c>, like EF's own <see cref="IDesignTimeDbContextFactory{TContext}"/>,
/// so a published application that contains the subclass loads every type of its assembly; <c>EFCore.Dsql.Design</c>
/// stays a development dependency.
/// </para>
/// <para>
/// The cluster comes from, in order: the arguments after <c>--</c> (<c>--endpoint</c>, <c>--region</c>,
/// <c>--profile</c>, <c>--user</c>); then the configuration, built as <c>WebApplication.CreateBuilder</c> builds it
/// (<c>appsettings.json</c>, <c>appsettings.{Environment}.json</c>, user secrets in Development, environment variables,
/// the other arguments after <c>--</c>): <c>DSQL_ENDPOINT</c>, else the connection string
/// <c>ConnectionStrings:&lt;name&gt;</c> (see <see cref="ConnectionStringNames"/>); the region and profile from the
/// <c>AWS</c> section (<c>AWS:Region</c>, <c>AWS:Profile</c>) or the AWS environment; the role from <c>DSQL_USER</c>
/// (else <c>admin</c>). The environment is <c>DOTNET_ENVIRONMENT</c> or <c>ASPNETCORE_ENVIRONMENT</c>, else
/// <c>Development</c>, as for <c>dotnet ef</c> through the host. Commands that do not connect (<c>migrations add</c>,
/// <c>migrations script</c>) need none of them.
/// </para>
/// <para>
/// The context needs a public constructor taking <see cref="DbContextOptions{TContext}"/> (or <see cref="DbContextOptions"/>);
/// override <see cref="CreateDbContext(DbContextOptions{TContext})"/> otherwise, and <see cref="ConfigureDsql"/> to set
/// retry, identity or Npgsql options the application also sets.
/// </para>
/// </remarks>
/// <typeparam name="TContext">The context type.</typeparam>
public abstract class DsqlDesignTimeDbContextFactory<TContext> : IDesignTimeDbContextFactory<TContext>
    where TContext : DbContext
{
    /// <summary>Creates the context from the arguments after <c>--</c> and the application's configuration.</summary>
    /// <param name="args">The arguments <c>dotnet ef</c> passes after <c>--</c>.</param>
    /// <returns>
    /// A context for the cluster (no connection is opened yet). Without a cluster, the context serves commands that
    /// never connect (<c>migrations add</c>, <c>migrations script</c>), and opening a connection throws an
    /// <see cref="InvalidOperationException"/> showing how to give one.
    /// </returns>
    /// <exception cref="ArgumentException">An argument has no value or a value is invalid (the message says which).</exception>
    public virtual TContext CreateDbContext(string[] args)
    {
        var contextName = typeof(TContext).Name;
        var (factoryOptions, rest) = DsqlDesignTimeSettings.SplitArguments(args, contextName);
        var settings = DsqlDesignTimeSettings.Read(factoryOptions, BuildConfiguration(rest), ConnectionStringNames);

        var optionsBuilder = new DbContextOptionsBuilder<TContext>();
        if (settings.Endpoint is null)
        {
            // migrations add and migrations script never connect: let them run without a cluster; anything that connects is
            // refused with the message saying how to give one.
            optionsBuilder.UseAuroraDsql(DsqlMissingEndpointInterceptor.PlaceholderOptions, ConfigureDsql)
                .AddInterceptors(new DsqlMissingEndpointInterceptor(DsqlDesignTimeSettings.MissingEndpointMessage(contextName, ConnectionStringNames)));
        }
        else
        {
            optionsBuilder.UseAuroraDsql(settings.ToConnectionOptions(contextName), ConfigureDsql);
        }

        ConfigureOptions(optionsBuilder);
        return CreateDbContext(optionsBuilder.Options);
    }

    /// <summary>
    /// The names looked up under <c>ConnectionStrings</c> when neither <c>--endpoint</c> nor <c>DSQL_ENDPOINT</c> is
    /// given: by default the context's name (<c>ShopContext</c>), the name without <c>Context</c>/<c>DbContext</c>
    /// (<c>Shop</c>) and <c>DefaultConnection</c>. Override to name the one your <c>UseAuroraDsql("Name=ConnectionStrings:…")</c> uses.
    /// </summary>
    protected virtual IReadOnlyList<string> ConnectionStringNames
    {
        get
        {
            var name = typeof(TContext).Name;
            var shortName = name.EndsWith("DbContext", StringComparison.Ordinal) ? name[..^"DbContext".Length]
                : name.EndsWith("Context", StringComparison.Ordinal) ? name[..^"Context".Length]
                : name;
            return new[] { name, shortName, "DefaultConnection" }.Where(n => n.Length > 0).Distinct(StringComparer.Ordinal).ToArray();
        }
    }

    /// <summary>
    /// Builds the configuration the way the application's host does: <c>appsettings.json</c> and
    /// <c>appsettings.{Environment}.json</c> from the content root (the current directory, else the application's base
    /// directory), user secrets of the factory's assembly in Development, environment variables, then the arguments.
    /// </summary>
    /// <param name="args">The arguments after <c>--</c> that are not the factory's own options.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="ArgumentException">An argument is not a valid configuration argument (the message says which).</exception>
    protected virtual IConfiguration BuildConfiguration(string[] args)
    {
        var environment = Environment.GetEnvironmentVariable("DOTNET_ENVIRONMENT") is { Length: > 0 } dotnetEnvironment ? dotnetEnvironment
            : Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") is { Length: > 0 } aspNetCoreEnvironment ? aspNetCoreEnvironment
            : "Development";

        var contentRoot = File.Exists(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json")) ? Directory.GetCurrentDirectory() : AppContext.BaseDirectory;
        var builder = new ConfigurationBuilder()
            .SetBasePath(contentRoot)
            .AddJsonFile("appsettings.json", optional: true, reloadOnChange: false)
            .AddJsonFile($"appsettings.{environment}.json", optional: true, reloadOnChange: false);
        if (string.Equals(environment, "Development", StringComparison.OrdinalIgnoreCase))
        {
            builder.AddUserSecrets(GetType().Assembly, optional: true, reloadOnChange: false);
        }

        builder.AddEnvironmentVariables();
        try
        {
            return builder.AddCommandLine(args).Build();
        }
        catch (FormatException e)
        {
            throw new ArgumentException(
                $"The design-time arguments of '{typeof(TContext).Name}' are not understood: {e.Message} The factory accepts --endpoint, --region, --profile, --user, and configuration keys as the host does (--ConnectionStrings:Shop=<endpoint>).",
                nameof(args),
                e);
        }
    }

    /// <summary>Sets DSQL options (retries, identity cache, Npgsql settings such as the migrations assembly).</summary>
    /// <param name="dsqlOptions">The DSQL options builder.</param>
    protected virtual void ConfigureDsql(DsqlDbContextOptionsBuilder dsqlOptions)
    {
    }

    /// <summary>Sets other context options (logging, interceptors…) after <c>UseAuroraDsql</c>.</summary>
    /// <param name="optionsBuilder">The options builder.</param>
    protected virtual void ConfigureOptions(DbContextOptionsBuilder<TContext> optionsBuilder)
    {
    }

    /// <summary>Instantiates the context through its constructor taking the options.</summary>
    /// <param name="options">The configured options.</param>
    /// <returns>The context.</returns>
    /// <exception cref="InvalidOperationException">The context has no such public constructor.</exception>
    protected virtual TContext CreateDbContext(DbContextOptions<TContext> options)
    {
        var constructor = typeof(TContext).GetConstructor([typeof(DbContextOptions<TContext>)])
            ?? typeof(TContext).GetConstructor([typeof(DbContextOptions)])
            ?? throw new InvalidOperationException(
                $"'{typeof(TContext).Name}' has no public constructor taking DbContextOptions<{typeof(TContext).Name}>. Add one, or override CreateDbContext(DbContextOptions<{typeof(TContext).Name}>) in '{GetType().Name}' to create the context.");

        try
        {
            return (TContext)constructor.Invoke([options]);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}
