using Microsoft.EntityFrameworkCore;

namespace HostApp;

/// <summary>A library: its books.</summary>
public sealed class Library
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public List<Book> Books { get; } = [];
}

/// <summary>A book on a library's shelves.</summary>
public sealed class Book
{
    public Guid Id { get; set; }
    public Guid LibraryId { get; set; }
    public Library? Library { get; set; }
    public required string Title { get; set; }
    public required string Isbn { get; set; }
}

/// <summary>
/// The app's context. It has only the constructor taking its options, so dotnet ef cannot create it on its own: it must
/// get it from the app's host (there is no IDesignTimeDbContextFactory in this project).
/// </summary>
public sealed class HostAppContext(DbContextOptions<HostAppContext> options) : DbContext(options)
{
    public DbSet<Library> Libraries => Set<Library>();
    public DbSet<Book> Books => Set<Book>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Library>(l => l.Property(x => x.Name).HasMaxLength(200));
        modelBuilder.Entity<Book>(b =>
        {
            b.Property(x => x.Title).HasMaxLength(300);
            b.Property(x => x.Isbn).HasMaxLength(13);
            b.HasIndex(x => x.Isbn).IsUnique();
            b.HasOne(x => x.Library).WithMany(l => l.Books).HasForeignKey(x => x.LibraryId);
        });
    }
}
