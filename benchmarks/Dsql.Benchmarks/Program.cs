using System.Reflection;
using BenchmarkDotNet.Running;
using Dsql.Benchmarks;

switch (args)
{
    // Not BenchmarkDotNet: the emulator's resident memory under attack (see AttackRssBenchmark and docs/benchmarks.md).
    case ["attacks", .. var options]:
        return await AttackRssBenchmark.RunAsync(quick: options.Contains("--quick"));
    case [AttackRssBenchmark.ServerMode]:
        await AttackRssBenchmark.ServeAsync();
        return 0;
    default:
        // GetExecutingAssembly rather than typeof(Program): Dsql.Local's internal Program is visible here too (CS0436).
        BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(args);
        return 0;
}
