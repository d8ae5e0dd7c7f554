using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Storage;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Events;

namespace Roadmap.Worker.Evaluation;

/// <summary>The latest judgement of the whole roadmap, for the exporter, the API and the board.</summary>
public sealed record RoadmapSnapshot(DateTimeOffset At, IReadOnlyList<KpiEvaluation> Kpis, IReadOnlyList<InitiativeEvaluation> Initiatives)
{
    public static readonly RoadmapSnapshot Empty = new(DateTimeOffset.MinValue, [], []);
}

/// <summary>
/// Judges every KPI and initiative: reads each KPI's window (and baseline period) from storage, asks the pure
/// evaluator, keeps the evaluation history the forecasts are fitted to, and publishes the result.
/// </summary>
/// <remarks>Each round judges <see cref="CurrentConfig.Value"/> as it is then: a reload applies from the next round.</remarks>
public sealed partial class EvaluationService(CurrentConfig current, ISampleReader samples, IEvaluationStore store, IRoadmapEvents events, TimeProvider time, ILogger? log = null)
{
    /// <summary>For one fixed config (the report verb, tests).</summary>
    public EvaluationService(RoadmapConfig config, ISampleReader samples, IEvaluationStore store, IRoadmapEvents events, TimeProvider time)
        : this(new CurrentConfig(config), samples, store, events, time)
    {
    }

    /// <summary>An evaluation is stored at most this often per KPI (and whenever its status changes). 5 minutes.</summary>
    public static readonly TimeSpan HistorySpacing = TimeSpan.FromMinutes(5);

    /// <summary>How much history the forecast is fitted to. 30 days.</summary>
    public static readonly TimeSpan ForecastHistory = TimeSpan.FromDays(30);

    /// <summary>How often a baseline period without data is tried again. 10 minutes.</summary>
    public static readonly TimeSpan BaselineRetry = TimeSpan.FromMinutes(10);

    private readonly Dictionary<(string, string), KpiState> _state = [];
    private readonly Dictionary<string, SourceState> _sources = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private volatile RoadmapSnapshot _latest = RoadmapSnapshot.Empty;
    private bool _loaded;
    private RoadmapConfig? _judged;

    public RoadmapSnapshot Latest => _latest;

    /// <summary>
    /// Takes another replica's round as the latest judgement (cluster mode: only the evaluator evaluates, the others
    /// serve its rounds). Ignored when it is not newer than the one held.
    /// </summary>
    public void Adopt(RoadmapSnapshot snapshot)
    {
        lock (_lock)
        {
            if (snapshot.At > _latest.At)
            {
                _latest = snapshot;
            }
        }
    }

    /// <param name="storeHistory">False for a read-only look (the report verb): judge, but store no history.</param>
    public RoadmapSnapshot EvaluateAll(bool storeHistory = true)
    {
        lock (_lock)
        {
            var started = Stopwatch.GetTimestamp();
            var config = current.Value;
            ForgetReloaded(config);
            var now = time.GetUtcNow();
            var zone = config.Settings.TimeZone;
            LoadHistoryOnce();
            var kpis = new List<KpiEvaluation>();
            var initiatives = new List<InitiativeEvaluation>();
            var toStore = new List<(KpiEvaluation Evaluation, KpiState State)>();
            // One connection and one set of prepared statements for the whole round.
            using var reads = samples.OpenSession();
            var polled = new Dictionary<string, SourceState?>(StringComparer.Ordinal);
            foreach (var initiative in config.Initiatives)
            {
                var own = new List<KpiEvaluation>();
                foreach (var kpi in initiative.Kpis)
                {
                    var state = State(initiative.Id, kpi.Id);
                    var (from, to) = KpiEvaluator.WindowOf(kpi, now, zone);
                    var (points, denominator) = Summarize(reads, kpi, from, to, NowReads(kpi));
                    var interval = SourceInterval(config, kpi.Source, now);
                    var kpiSamples = new KpiSamples(points, denominator) { SourceInterval = interval, BurnWindows = BurnWindows(reads, kpi, now, interval) };
                    var baseline = BaselineOf(reads, initiative.Id, kpi, state, now, zone);
                    if (!state.TrendFitted)
                    {
                        state.Trend = kpi.Deadline is null ? null : Forecast.Fit(store.Values(initiative.Id, kpi.Id, now - ForecastHistory, now));
                        state.TrendFitted = true;
                    }

                    var source = SourceStateOf(reads, config, kpi.Source, polled);
                    var evaluation = KpiEvaluator.Evaluate(initiative.Id, kpi, kpiSamples, now, zone, baseline, state.Trend, source);
                    if (state.LastStored is not { } last || now - last >= HistorySpacing || state.LastStatus != evaluation.Status)
                    {
                        toStore.Add((evaluation, state));
                    }

                    events.KpiEvaluated(evaluation);
                    own.Add(evaluation);
                }

                var health = InitiativeHealth.Evaluate(config, initiative, own, now);
                events.InitiativeEvaluated(health);
                initiatives.Add(health);
                kpis.AddRange(own);
            }

            if (!storeHistory)
            {
                toStore.Clear();
            }

            // Only what was stored counts as stored: if the append fails (disk full, database locked past the busy
            // timeout), the round still publishes its judgement and the next round tries these again.
            try
            {
                store.Append(toStore.Select(s => s.Evaluation).ToList());
            }
            catch (StorageException e)
            {
                if (log is not null)
                {
                    LogHistoryNotStored(log, toStore.Count, e.Message);
                }

                toStore.Clear();
            }

            foreach (var (evaluation, state) in toStore)
            {
                state.LastStored = now;
                state.LastStatus = evaluation.Status;
                state.TrendFitted = false; // refit with the new point next round
            }

            events.RoundEvaluated(Stopwatch.GetElapsedTime(started));
            _latest = new RoadmapSnapshot(now, kpis, initiatives);
            return _latest;
        }
    }

    /// <summary>
    /// After a reload: the state of KPIs that were removed or changed (baseline, trend) is dropped, and so are the
    /// series of KPIs and initiatives that are gone, and what was known of the polls of sources that are gone.
    /// </summary>
    private void ForgetReloaded(RoadmapConfig config)
    {
        if (ReferenceEquals(config, _judged))
        {
            return;
        }

        if (_judged is not null)
        {
            var now = config.Initiatives.SelectMany(i => i.Kpis.Select(k => ((i.Id, k.Id), k))).ToDictionary(p => p.Item1, p => p.k);
            var before = _judged.Initiatives.SelectMany(i => i.Kpis.Select(k => ((i.Id, k.Id), k))).ToDictionary(p => p.Item1, p => p.k);
            foreach (var key in _state.Keys.Where(key => !now.TryGetValue(key, out var kpi) || !before.TryGetValue(key, out var old) || !old.Equals(kpi)).ToList())
            {
                _state.Remove(key);
            }

            events.EvaluatedConfigReplaced(config);
        }

        // What is known of a source's polls stays true across a reload (they are the same stored polls); only sources
        // no longer configured are forgotten, so a reload does not make the next round read long failure runs again.
        foreach (var id in _sources.Keys.Where(id => config.FindSource(id) is null).ToList())
        {
            _sources.Remove(id);
        }

        _judged = config;
    }

    private KpiState State(string initiative, string kpi)
    {
        if (!_state.TryGetValue((initiative, kpi), out var state))
        {
            state = new KpiState();
            _state[(initiative, kpi)] = state;
        }

        return state;
    }

    /// <summary>After a restart, history continues where it left off instead of writing a row for every KPI at once.</summary>
    private void LoadHistoryOnce()
    {
        if (_loaded)
        {
            return;
        }

        foreach (var ((initiative, kpi), last) in store.Latest())
        {
            var state = State(initiative, kpi);
            state.LastStored = DateTimeOffset.FromUnixTimeMilliseconds(last.TimestampMs);
            // A status judged under older rules is not this round's kind of status: leave it unknown, so the first
            // round stores a row under the current rules instead of comparing against it.
            state.LastStatus = last.Rules == IEvaluationStore.CurrentRules ? KpiStatuses.All.FirstOrDefault(s => s.Label() == last.Status) : null;
        }

        _loaded = true;
    }

    /// <summary>
    /// The source's poll interval, for window coverage: its <c>every</c>, or for a cron source the gap between its next
    /// two fire times after now (a cron with uneven gaps gets the next one). Zero for an unknown source.
    /// </summary>
    private static TimeSpan SourceInterval(RoadmapConfig config, string sourceId, DateTimeOffset now)
    {
        var source = config.Sources.FirstOrDefault(s => s.Id == sourceId);
        if (source?.Schedule.Every is { } every)
        {
            return every;
        }

        if (source?.Schedule.Cron is not { } cron)
        {
            return TimeSpan.Zero;
        }

        // The gap between two fire times is the same in any zone but across a clock change: UTC is close enough.
        var expression = new Quartz.CronExpression(cron);
        return expression.GetNextValidTimeAfter(now) is { } next && expression.GetNextValidTimeAfter(next) is { } after ? after - next : TimeSpan.Zero;
    }

    /// <summary>
    /// What the stored polls say about a source (once a round), for the reason of a KPI not met. Its last failure
    /// reason was redacted when it was polled; it is redacted again here with the source's current secrets, so the
    /// reason reaches the board, the API and the report through the one redaction point,
    /// <see cref="SourceConfig.Redact"/>, whatever config stored it.
    /// </summary>
    private SourceState? SourceStateOf(ISampleReadSession reads, RoadmapConfig config, string sourceId, Dictionary<string, SourceState?> polled)
    {
        if (polled.TryGetValue(sourceId, out var known))
        {
            return known;
        }

        var state = reads.PollState(sourceId, _sources.GetValueOrDefault(sourceId));
        if (state is null)
        {
            _sources.Remove(sourceId);
        }
        else
        {
            _sources[sourceId] = state;
            state = state with { LastError = config.FindSource(sourceId)?.Redact(state.LastError) ?? state.LastError };
        }

        polled[sourceId] = state;
        return state;
    }

    /// <summary>For a KPI that can have an error budget: its samples over each burn-rate window (short ones raw,
    /// 1d and 3d from rollups, as <see cref="ISampleReadSession.Summarize"/> chooses). Else none.</summary>
    private static Dictionary<string, KpiSamples> BurnWindows(ISampleReadSession reads, KpiConfig kpi, DateTimeOffset now, TimeSpan interval)
    {
        var windows = new Dictionary<string, KpiSamples>(StringComparer.Ordinal);
        if (!ErrorBudget.Applies(kpi))
        {
            return windows;
        }

        foreach (var (label, length) in ErrorBudget.BurnWindows)
        {
            var (points, denominator) = Summarize(reads, kpi, now - length, now, NowReads(kpi));
            windows[label] = new KpiSamples(points, denominator) { SourceInterval = interval };
        }

        return windows;
    }

    /// <summary>
    /// How a window that ends at the round's time is read (<see cref="WindowReads"/>): open-ended, so its open hour
    /// comes from the hour's rollup although polls that started after the round began are stored already; and, unless
    /// the aggregate is a quantile, from hour rollups even when shorter than a day. At one poll a second a six-hour burn
    /// window read raw is 21,600 samples per KPI per round; read this way, at most an hour of them.
    /// </summary>
    private static WindowReads NowReads(KpiConfig kpi) =>
        WindowReads.OpenEnded | (Aggregates.PercentileOf(kpi.Aggregate) is null ? WindowReads.SketchQuantiles : WindowReads.Exact);

    /// <summary>The window's samples as summaries (long windows come from rollups); the denominator signals pooled.</summary>
    private static (SeriesSummary Points, SeriesSummary Denominator) Summarize(ISampleReadSession reads, KpiConfig kpi, DateTimeOffset from, DateTimeOffset to, WindowReads how = WindowReads.Exact)
    {
        var points = reads.Summarize(kpi.Source, kpi.Signal, from, to, how);
        var denominator = SeriesSummary.Empty();
        foreach (var d in kpi.Denominator)
        {
            denominator.MergeSeries(reads.Summarize(kpi.Source, d, from, to, how));
        }

        return (points, denominator);
    }

    /// <summary>A period baseline's value: computed once with the KPI's own aggregate after the period ends, then stored.</summary>
    private double? BaselineOf(ISampleReadSession reads, string initiative, KpiConfig kpi, KpiState state, DateTimeOffset now, TimeZoneInfo zone)
    {
        if (!kpi.Target.IsRelative || kpi.Baseline is not { From: { } from, To: { } to })
        {
            return null;
        }

        if (state.Baseline is { } known)
        {
            return known;
        }

        var definition = $"{kpi.Aggregate.Name()}({kpi.Source}:{kpi.Signal}{string.Concat(kpi.Denominator.Select(d => "/" + d))})";
        if (store.Baseline(initiative, kpi.Id, from, to, definition) is { } stored)
        {
            state.Baseline = stored.Value;
            return stored.Value;
        }

        var end = Dates.EndOfDay(to, zone);
        if (now < end || (state.BaselineTried is { } tried && now - tried < BaselineRetry))
        {
            return null;
        }

        state.BaselineTried = now;
        var start = Dates.StartOfDay(from, zone);
        var last = end - TimeSpan.FromMilliseconds(1);
        var (points, denominator) = Summarize(reads, kpi, start, last);
        if (Aggregates.Compute(kpi.Aggregate, points, denominator) is not { } value || !double.IsFinite(value))
        {
            return null;
        }

        store.SaveBaseline(initiative, kpi.Id, from, to, definition, value, points.Count, now);
        state.Baseline = value;
        return value;
    }

    private sealed class KpiState
    {
        public DateTimeOffset? LastStored { get; set; }

        public KpiStatus? LastStatus { get; set; }

        public LinearTrend? Trend { get; set; }

        /// <summary>Whether <see cref="Trend"/> reflects the stored history (null then means: too little of it).</summary>
        public bool TrendFitted { get; set; }

        public double? Baseline { get; set; }

        public DateTimeOffset? BaselineTried { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Evaluation history not stored ({Count} KPI points; retried next round): {Reason}")]
    private static partial void LogHistoryNotStored(ILogger log, int count, string reason);
}
