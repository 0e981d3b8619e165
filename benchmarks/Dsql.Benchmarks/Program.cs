using System.Reflection;
using BenchmarkDotNet.Running;

// GetExecutingAssembly rather than typeof(Program): Dsql.Local's internal Program is visible here too (CS0436).
BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(args);
