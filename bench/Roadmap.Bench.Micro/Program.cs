using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Roadmap.Bench.Micro -- --filter '*' --job short --exporters json
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>The entry point's type, for BenchmarkSwitcher.</summary>
public partial class Program;
