using BenchmarkDotNet.Running;

// Not typeof(Program): Dsql.Local (visible through InternalsVisibleTo) has a Program type too.
BenchmarkSwitcher.FromAssembly(typeof(Dsql.Benchmarks.BenchContext).Assembly).Run(args);
