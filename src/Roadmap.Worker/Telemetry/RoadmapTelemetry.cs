using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Roadmap.Worker.Telemetry;

/// <summary>
/// Roadmap's OpenTelemetry instruments: a span per poll and per evaluation round, and meters that mirror the
/// Prometheus counters for OTLP users. One instance per host (no static state), disposed with it.
/// </summary>
public sealed class RoadmapTelemetry : IDisposable
{
    /// <summary>The ActivitySource and Meter name to subscribe to.</summary>
    public const string Name = "Roadmap";

    private readonly Counter<long> _polls;
    private readonly Histogram<double> _pollDuration;
    private readonly Counter<long> _evaluations;

    public RoadmapTelemetry(IMeterFactory meters)
    {
        var version = typeof(RoadmapTelemetry).Assembly.GetName().Version?.ToString(3);
        Source = new ActivitySource(Name, version);
        Meter = meters.Create(Name, version);
        _polls = Meter.CreateCounter<long>("roadmap.source.polls", "{poll}", "Polls of each source, by outcome.");
        _pollDuration = Meter.CreateHistogram<double>("roadmap.source.poll.duration", "s", "How long polls took.");
        _evaluations = Meter.CreateCounter<long>("roadmap.evaluations", "{round}", "Evaluation rounds run.");
    }

    public ActivitySource Source { get; }

    public Meter Meter { get; }

    public void RecordPoll(string source, string kind, bool success, TimeSpan duration)
    {
        var tags = new TagList { { "source", source }, { "kind", kind }, { "outcome", success ? "success" : "failure" } };
        _polls.Add(1, tags);
        _pollDuration.Record(duration.TotalSeconds, tags);
    }

    public void RecordEvaluation() => _evaluations.Add(1);

    public void Dispose() => Source.Dispose();
}
