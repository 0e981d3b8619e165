global using System.Globalization;
global using System.Text;
global using Dsql.Local.Protocol;
global using Dsql.Local.Rules;
global using Dsql.Local.Sql;
