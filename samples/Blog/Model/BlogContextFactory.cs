using Microsoft.EntityFrameworkCore.Design;

namespace Blog.Model;

/// <summary>
/// Lets <c>dotnet ef</c> create the context without starting the web app: the cluster comes from
/// <c>-- --endpoint …</c> or <c>DSQL_ENDPOINT</c>, credentials from the AWS SDK (IAM tokens, no passwords).
/// </summary>
public sealed class BlogContextFactory : DsqlDesignTimeDbContextFactory<BlogContext>;
