using BenchmarkDotNet.Running;
using Roadmap.Bench.Micro;

// dotnet run -c Release --project bench/Roadmap.Bench.Micro -- --filter '*' --job short --exporters json
BenchmarkSwitcher.FromAssembly(typeof(SketchBenchmarks).Assembly).Run(args);
