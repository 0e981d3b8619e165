global using System.Diagnostics;
global using System.Globalization;
global using Amazon.Runtime;
global using Dsql.Npgsql.Internal;
global using Microsoft.Extensions.Logging;
global using Npgsql;
