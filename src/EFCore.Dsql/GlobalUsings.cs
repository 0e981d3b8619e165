global using Microsoft.EntityFrameworkCore.Dsql.Internal;
global using Microsoft.EntityFrameworkCore.Infrastructure;
