using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Storage;

namespace Roadmap.Worker.Reporting;

/// <summary>One stored evaluation on a KPI's trail.</summary>
/// <param name="Value">Null: the window gave no value then.</param>
public readonly record struct TrailPoint(long TimestampMs, double? Value, string Status);

/// <summary>A KPI's stored evaluations over a span, oldest first, at most <see cref="KpiTrails.MaxPoints"/>.</summary>
public sealed record Trail(DateTimeOffset From, DateTimeOffset To, IReadOnlyList<TrailPoint> Points)
{
    public static Trail Empty(DateTimeOffset from, DateTimeOffset to) => new(from, to, []);
}

/// <summary>
/// The stored evaluations behind the board's sparklines, kept in memory and read from storage incrementally: the
/// first read takes the last <see cref="MaxSpan"/> of every KPI's history at once (through the index, never older
/// history), each later read only the rows stored since (<see cref="IEvaluationStore.Since"/>): one read per board render,
/// whatever the number of KPIs. Each KPI keeps
/// at most one point per <see cref="MaxPoints"/>-th of its span (the newest), so memory is bounded by the config.
/// Thread-safe.
/// </summary>
public sealed class KpiTrails(IEvaluationStore store)
{
    /// <summary>A sparkline shows at most this many points. 96.</summary>
    public const int MaxPoints = 96;

    /// <summary>The longest span a sparkline covers: the history the forecast is fitted to. 30 days.</summary>
    public static readonly TimeSpan MaxSpan = TimeSpan.FromDays(30);

    private readonly Lock _lock = new();
    private readonly Dictionary<(string Initiative, string Kpi), List<TrailPoint>> _points = [];
    private RoadmapConfig? _config;
    private long _lastRow;

    /// <summary>
    /// What a KPI's sparkline covers at <paramref name="now"/>: its window (a calendar window from the start of the
    /// period), at most the last <see cref="MaxSpan"/>, to now.
    /// </summary>
    public static (DateTimeOffset From, DateTimeOffset To) SpanOf(KpiConfig kpi, DateTimeOffset now, TimeZoneInfo zone)
    {
        var (from, _) = KpiEvaluator.WindowOf(kpi, now, zone);
        var earliest = now - MaxSpan;
        return (from < earliest ? earliest : from, now);
    }

    /// <summary>Every KPI's trail over its <see cref="SpanOf"/> at <paramref name="now"/>.</summary>
    public IReadOnlyDictionary<(string Initiative, string Kpi), Trail> Read(RoadmapConfig config, DateTimeOffset now)
    {
        var zone = config.Settings.TimeZone;
        var spans = config.Initiatives
            .SelectMany(i => i.Kpis.Select(k => (Key: (i.Id, k.Id), Span: SpanOf(k, now, zone))))
            .ToDictionary(p => p.Key, p => p.Span);
        lock (_lock)
        {
            // After a reload a KPI may be new (its older rows were skipped) or have another window: start over.
            if (!ReferenceEquals(config, _config))
            {
                Reset(config);
            }

            var keys = spans.Keys;
            var read = store.Since(_lastRow, now - MaxSpan, keys);
            if (read.LastRow < _lastRow)
            {
                Reset(config);
                read = store.Since(0, now - MaxSpan, keys);
            }

            foreach (var row in read.Rows)
            {
                if (spans.TryGetValue((row.Initiative, row.Kpi), out var span))
                {
                    Add(Points((row.Initiative, row.Kpi)), new TrailPoint(row.TimestampMs, row.Value, row.Status), Grain(span));
                }
            }

            _lastRow = read.LastRow;
            var trails = new Dictionary<(string, string), Trail>(spans.Count);
            foreach (var (key, (from, to)) in spans)
            {
                var points = Points(key);
                var first = from.ToUnixTimeMilliseconds();
                var gone = 0;
                while (gone < points.Count && points[gone].TimestampMs < first)
                {
                    gone++;
                }

                points.RemoveRange(0, gone);
                trails[key] = new Trail(from, to, points.ToArray());
            }

            return trails;
        }
    }

    private void Reset(RoadmapConfig config)
    {
        _points.Clear();
        _lastRow = 0;
        _config = config;
    }

    private List<TrailPoint> Points((string, string) key)
    {
        if (!_points.TryGetValue(key, out var points))
        {
            points = [];
            _points[key] = points;
        }

        return points;
    }

    private static long Grain((DateTimeOffset From, DateTimeOffset To) span) =>
        Math.Max(1, (long)(span.To - span.From).TotalMilliseconds / MaxPoints);

    /// <summary>Keeps the newest point of each grain, whatever order the points come in.</summary>
    private static void Add(List<TrailPoint> points, TrailPoint point, long grain)
    {
        // Rows come in the order they were stored, which is time order but for a clock set back or a backfill.
        var at = points.Count == 0 || point.TimestampMs > points[^1].TimestampMs
            ? points.Count
            : points.FindIndex(p => p.TimestampMs >= point.TimestampMs);
        var bucket = point.TimestampMs / grain;
        if (at < points.Count && points[at].TimestampMs / grain == bucket)
        {
            if (points[at].TimestampMs == point.TimestampMs)
            {
                points[at] = point; // stored again at the same instant: the later row wins
            }

            return; // a newer point of the same grain is kept
        }

        if (at > 0 && points[at - 1].TimestampMs / grain == bucket)
        {
            points[at - 1] = point;
            return;
        }

        points.Insert(at, point);
    }
}
