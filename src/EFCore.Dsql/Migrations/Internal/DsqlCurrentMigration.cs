namespace Microsoft.EntityFrameworkCore.Dsql.Migrations.Internal;

/// <summary>
///     The migration whose SQL is being generated, shared by the scoped migrator (which sets it) and SQL generator (which
///     names it in refusals). Scoped: one per context.
/// </summary>
/// <remarks>This is an internal API that supports the EFCore.Dsql infrastructure and may change without notice.</remarks>
public sealed class DsqlCurrentMigration
{
    /// <summary>The id of the migration being generated, or <see langword="null" /> outside of one.</summary>
    public string? Id { get; private set; }

    /// <summary>Names <paramref name="migrationId" /> as current until the returned scope is disposed.</summary>
    /// <param name="migrationId">The migration id.</param>
    public IDisposable Begin(string? migrationId)
    {
        var previous = Id;
        Id = migrationId;
        return new Scope(this, previous);
    }

    private sealed class Scope(DsqlCurrentMigration owner, string? previous) : IDisposable
    {
        public void Dispose() => owner.Id = previous;
    }
}
