using BenchmarkDotNet.Attributes;
using Prometheus;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Worker.Exporting;

namespace Roadmap.Bench.Micro;

/// <summary>
/// The /metrics serializer and the per-poll metric updates, on the real RoadmapMetrics: 500 polled http sources give
/// about 10,000 series (polls, duration histogram, up, last success, signals).
/// </summary>
[MemoryDiagnoser]
public class MetricsBenchmarks
{
    private RoadmapMetrics _metrics = null!;
    private SourceConfig[] _sources = [];
    private PollResult _result = null!;

    [Params(500)]
    public int Sources { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _metrics = new RoadmapMetrics(Metrics.NewCustomRegistry());
        _sources = [.. Enumerable.Range(0, Sources).Select(i => new SourceConfig(
            $"p{i:05d}", "http", new PollSchedule(TimeSpan.FromSeconds(1), null), TimeSpan.FromSeconds(1), new object(), ["up", "latency_seconds", "status_code"]))];
        _result = PollResult.Ok([new("up", 1), new("latency_seconds", 0.002), new("status_code", 200)], TimeSpan.FromMilliseconds(2));
        var at = DateTimeOffset.UnixEpoch.AddYears(56);
        foreach (var s in _sources)
        {
            _metrics.RecordPoll(s, _result, at);
        }
    }

    [Benchmark]
    public async Task Serialize() => await _metrics.ExportAsync(Stream.Null);

    [Benchmark(OperationsPerInvoke = 500)]
    public void RecordPoll()
    {
        var at = DateTimeOffset.UnixEpoch.AddYears(56);
        foreach (var s in _sources)
        {
            _metrics.RecordPoll(s, _result, at);
        }
    }
}
