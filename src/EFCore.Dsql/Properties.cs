using Microsoft.EntityFrameworkCore.Design;

// dotnet ef dbcontext scaffold "<endpoint>" EFCore.Dsql: EF looks for the provider's design-time services here.
[assembly: DesignTimeProviderServices("Microsoft.EntityFrameworkCore.Dsql.Design.Internal.DsqlProviderDesignTimeServices")]
