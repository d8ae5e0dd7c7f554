using BenchmarkDotNet.Attributes;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;

namespace Roadmap.Bench.Micro;

/// <summary>QuantileSketch: adding latencies, and the round trip the storage rollups make (ToBytes, MergeFrom).</summary>
[MemoryDiagnoser]
public class SketchBenchmarks
{
    private double[] _values = [];
    private QuantileSketch _full = new();
    private byte[] _bytes = [];

    [Params(10_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        // Latency-like: log-normal around 50 ms.
        _values = [.. Enumerable.Range(0, N).Select(_ => Math.Exp(Math.Log(0.05) + random.NextDouble() * 2 - 1))];
        _full = new QuantileSketch();
        foreach (var v in _values)
        {
            _full.Add(v);
        }

        _bytes = _full.ToBytes();
    }

    [Benchmark(OperationsPerInvoke = 10_000)]
    public QuantileSketch Add()
    {
        var sketch = new QuantileSketch();
        foreach (var v in _values)
        {
            sketch.Add(v);
        }

        return sketch;
    }

    [Benchmark]
    public byte[] ToBytes() => _full.ToBytes();

    [Benchmark]
    public QuantileSketch MergeFrom()
    {
        var sketch = new QuantileSketch();
        sketch.MergeFrom(_bytes);
        return sketch;
    }

    [Benchmark]
    public double? Quantile() => _full.Quantile(0.95);
}

/// <summary>Aggregates.Compute over a stored summary versus over the raw points of the same window.</summary>
[MemoryDiagnoser]
public class AggregateBenchmarks
{
    private List<Point> _points = [];
    private SeriesSummary _summary = SeriesSummary.Empty();

    /// <summary>Points in the window: 30 days of one poll a minute.</summary>
    [Params(43_200)]
    public int N { get; set; }

    [Params(Aggregate.Avg, Aggregate.P95)]
    public Aggregate Aggregate { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        _points = [.. Enumerable.Range(0, N).Select(i => new Point(1_700_000_000_000L + i * 60_000L, 0.02 + random.NextDouble() * 0.1))];
        _summary = SeriesSummary.FromPoints(_points);
    }

    [Benchmark(Baseline = true)]
    public double? Points() => Aggregates.Compute(Aggregate, _points);

    [Benchmark]
    public double? Summary() => Aggregates.Compute(Aggregate, _summary, null);
}
