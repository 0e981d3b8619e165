using System.Reflection;
using Microsoft.EntityFrameworkCore.Dsql.Design.Internal;
using Microsoft.EntityFrameworkCore.Infrastructure;

// ReSharper disable once CheckNamespace
namespace Microsoft.EntityFrameworkCore.Design;

/// <summary>
/// Creates a <typeparamref name="TContext"/> for <c>dotnet ef</c> (migrations, <c>database update</c>, scripts and
/// bundles) connected to Aurora DSQL with IAM authentication. Subclass it in one line:
/// <code>public sealed class BlogContextFactory : DsqlDesignTimeDbContextFactory&lt;BlogContext&gt;;</code>
/// </summary>
/// <remarks>
/// <para>
/// The cluster comes from the arguments after <c>--</c> or from the environment:
/// <c>--endpoint</c> or <c>DSQL_ENDPOINT</c> (a cluster endpoint, a cluster ID, a <c>postgresql://</c> URI or a
/// keyword connection string without a password); <c>--region</c> (else the endpoint's region, <c>AWS_REGION</c>,
/// <c>AWS_DEFAULT_REGION</c> or the profile's region); <c>--profile</c> (else the default AWS credential chain, which
/// honours <c>AWS_PROFILE</c>); <c>--user</c> or <c>DSQL_USER</c> (else <c>admin</c>). Commands that do not connect
/// (<c>migrations add</c>, <c>migrations script</c>) need none of them. Example:
/// <c>dotnet ef database update -- --endpoint abc….dsql.us-east-1.on.aws --profile dev</c>.
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
    /// <summary>Creates the context from the arguments after <c>--</c> and the environment.</summary>
    /// <param name="args">The arguments <c>dotnet ef</c> passes after <c>--</c>.</param>
    /// <returns>
    /// A context for the cluster (no connection is opened yet). Without a cluster, the context serves commands that
    /// never connect (<c>migrations add</c>, <c>migrations script</c>), and opening a connection throws an
    /// <see cref="InvalidOperationException"/> showing how to give one.
    /// </returns>
    /// <exception cref="ArgumentException">An argument is unknown or a value is invalid (the message says which).</exception>
    public virtual TContext CreateDbContext(string[] args)
    {
        var contextName = typeof(TContext).Name;
        var settings = DsqlDesignTimeSettings.Read(args, ReadEnvironmentVariable, contextName);

        var optionsBuilder = new DbContextOptionsBuilder<TContext>();
        if (settings.Endpoint is null)
        {
            // migrations add and migrations script never connect: let them run without a cluster; anything that connects is
            // refused with the message saying how to give one.
            optionsBuilder.UseAuroraDsql(DsqlMissingEndpointInterceptor.PlaceholderOptions, ConfigureDsql)
                .AddInterceptors(new DsqlMissingEndpointInterceptor(DsqlDesignTimeSettings.MissingEndpointMessage(contextName)));
        }
        else
        {
            optionsBuilder.UseAuroraDsql(settings.ToConnectionOptions(contextName), ConfigureDsql);
        }

        ConfigureOptions(optionsBuilder);
        return CreateDbContext(optionsBuilder.Options);
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

    /// <summary>Reads an environment variable (tests override it).</summary>
    /// <param name="name">The variable's name.</param>
    /// <returns>The value, or <see langword="null"/>.</returns>
    protected virtual string? ReadEnvironmentVariable(string name) => Environment.GetEnvironmentVariable(name);

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
