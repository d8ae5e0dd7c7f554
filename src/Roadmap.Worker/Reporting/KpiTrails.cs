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
/// first read (a load) takes the last <see cref="MaxSpan"/> of every KPI's history thinned where it is stored
/// (<see cref="IEvaluationStore.Thinned"/>: at most one row per <see cref="MaxPoints"/>-th of the span, never every
/// row), each later read only the rows stored since (<see cref="IEvaluationStore.Since"/>): one read per board render,
/// whatever the number of KPIs. Each KPI keeps at most one point per <see cref="MaxPoints"/>-th of its span (the
/// newest, <see cref="EvaluationThinning"/>), so memory is bounded by the config. The board never waits for a load
/// (<see cref="ReadIfLoaded"/>): it is started in the background at start (<see cref="KpiTrailsWarmUp"/>) and after a
/// reload, and until it is done the board has no sparklines. Thread-safe.
/// </summary>
public sealed class KpiTrails(IEvaluationStore store)
{
    /// <summary>A sparkline shows at most this many points. 96.</summary>
    public const int MaxPoints = 96;

    /// <summary>The longest span a sparkline covers: the history the forecast is fitted to. 30 days.</summary>
    public static readonly TimeSpan MaxSpan = TimeSpan.FromDays(30);

    private readonly Lock _lock = new();
    private readonly Lock _loadLock = new();
    private readonly Dictionary<(string Initiative, string Kpi), List<TrailPoint>> _points = [];
    private RoadmapConfig? _config;
    private RoadmapConfig? _loaded;
    private (RoadmapConfig Config, Task Task)? _loading;
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

    /// <summary>
    /// Every KPI's trail over its <see cref="SpanOf"/> at <paramref name="now"/>; when they are not in memory for
    /// <paramref name="config"/> (the first read, or after a reload), loads them first and waits for it.
    /// </summary>
    public IReadOnlyDictionary<(string Initiative, string Kpi), Trail> Read(RoadmapConfig config, DateTimeOffset now) =>
        ReadCore(config, now, load: true)!;

    /// <summary>
    /// As <see cref="Read"/> when the trails of <paramref name="config"/> are in memory (a read of the rows stored
    /// since the last one); otherwise null at once, with a load started in the background (<see cref="Load"/>), so a
    /// board request never waits behind one.
    /// </summary>
    public IReadOnlyDictionary<(string Initiative, string Kpi), Trail>? ReadIfLoaded(RoadmapConfig config, DateTimeOffset now)
    {
        if (IsLoaded(config) && ReadCore(config, now, load: false) is { } trails)
        {
            return trails;
        }

        _ = Load(config, now);
        return null;
    }

    /// <summary>Whether the trails of <paramref name="config"/> are in memory (loaded, not being loaded).</summary>
    public bool IsLoaded(RoadmapConfig config) => ReferenceEquals(Volatile.Read(ref _loaded), config);

    /// <summary>
    /// Loads the trails of <paramref name="config"/> at <paramref name="now"/> on the thread pool, unless they are in
    /// memory already (a completed task) or being loaded (that load's task). A failed load (a
    /// <see cref="StorageException"/>) fails the task; the next call starts another.
    /// </summary>
    public Task Load(RoadmapConfig config, DateTimeOffset now)
    {
        lock (_loadLock)
        {
            if (IsLoaded(config))
            {
                return Task.CompletedTask;
            }

            if (_loading is { } loading && ReferenceEquals(loading.Config, config) && !loading.Task.IsCompleted)
            {
                return loading.Task;
            }

            var task = Task.Run(() => ReadCore(config, now, load: true));
            // Observed here: a board request that started the load does not wait for its outcome.
            _ = task.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            _loading = (config, task);
            return task;
        }
    }

    /// <summary>The trails; null when <paramref name="load"/> is false and those of <paramref name="config"/> are not in memory.</summary>
    private Dictionary<(string Initiative, string Kpi), Trail>? ReadCore(RoadmapConfig config, DateTimeOffset now, bool load)
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
                if (!load)
                {
                    return null;
                }

                LoadThinned(config, spans);
            }
            else
            {
                var read = store.Since(_lastRow, now - MaxSpan, spans.Keys);
                if (read.LastRow < _lastRow)
                {
                    // The rows were renumbered (the database file was replaced): load again.
                    LoadThinned(config, spans);
                }
                else
                {
                    Add(read, spans);
                }
            }

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

    /// <summary>Replaces what is in memory with each KPI's span thinned in storage.</summary>
    private void LoadThinned(RoadmapConfig config, Dictionary<(string, string), (DateTimeOffset From, DateTimeOffset To)> spans)
    {
        _points.Clear();
        _lastRow = 0;
        _config = null;
        Volatile.Write(ref _loaded, null);
        var read = store.Thinned(spans.Select(s => new ThinnedSpan(s.Key.Item1, s.Key.Item2, s.Value.From, s.Value.To)).ToList(), MaxPoints);
        Add(read, spans);
        _config = config;
        Volatile.Write(ref _loaded, config);
    }

    private void Add(EvaluationRows read, Dictionary<(string, string), (DateTimeOffset From, DateTimeOffset To)> spans)
    {
        foreach (var row in read.Rows)
        {
            if (spans.TryGetValue((row.Initiative, row.Kpi), out var span))
            {
                EvaluationThinning.Keep(Points((row.Initiative, row.Kpi)), new TrailPoint(row.TimestampMs, row.Value, row.Status), Grain(span), static p => p.TimestampMs);
            }
        }

        _lastRow = read.LastRow;
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
        ThinnedSpan.GrainMs(span.From, span.To, MaxPoints);
}
