using System.Reflection;
using Prometheus;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Worker.Events;

namespace Roadmap.Worker.Exporting;

/// <summary>
/// Every Roadmap metric, in one injected registry (no static state, so tests can isolate). Names and labels are the
/// contract in README.md (Metrics); label values come only from config ids, never from response data.
/// </summary>
public sealed class RoadmapMetrics : IRoadmapEvents
{
    private static readonly double[] PollDurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    private readonly Gauge _kpiValue;
    private readonly Gauge _kpiTarget;
    private readonly Gauge _kpiMet;
    private readonly Gauge _kpiStatus;
    private readonly Gauge _kpiDeadline;
    private readonly Gauge _kpiForecast;
    private readonly Gauge _kpiErrorBudget;
    private readonly Gauge _kpiBaseline;
    private readonly Gauge _kpiCoverage;
    private readonly Gauge _kpiBurnRate;
    private readonly Gauge _kpiForecastLower;
    private readonly Gauge _kpiForecastUpper;
    private readonly Gauge _kpiForecastProbability;
    private readonly Gauge _initiativeHealth;
    private readonly Gauge _initiativeBlocked;
    private readonly Gauge _initiativeKpis;
    private readonly Gauge _initiativeKpisMet;
    private readonly Gauge _initiativeStart;
    private readonly Gauge _initiativeDue;
    private readonly Gauge _kpiInfo;
    private readonly Gauge _initiativeInfo;
    private readonly Gauge _sourceUp;
    private readonly Counter _polls;
    private readonly Counter _ticksSkipped;
    private readonly Histogram _pollDuration;
    private readonly Histogram _pollLateness;
    private readonly Gauge _lastSuccess;
    private readonly SignalValues _signals = new();
    private readonly Counter _samplesWritten;
    private readonly Counter _pollsDropped;
    private readonly Counter _writeFailures;
    private readonly Counter _batches;
    private readonly Counter.Child[] _writerBusy;
    private readonly Counter _writerCpu;
    private readonly Gauge _queueLength;
    private readonly Gauge _databaseBytes;
    private readonly Gauge _sqliteMemoryBytes;
    private readonly Gauge _storageHealthy;
    private readonly Gauge _storageState;
    private readonly Counter _rowsPruned;
    private readonly Counter _filesLost;
    private readonly Counter _chunksSealed;
    private readonly Counter _samplesSealed;
    private readonly Gauge _lastSweepSeconds;
    private readonly Gauge _lastSweepSamples;
    private readonly Counter _evaluations;
    private readonly Histogram _evaluationDuration;
    private readonly Gauge _reloadSuccessful;
    private readonly Gauge _reloadSuccessTimestamp;
    private readonly Counter _reloads;
    private readonly Counter _updateDeliveries;
    private long _pollCount;

    /// <summary>The <c>step</c> label values of <c>roadmap_storage_writer_busy_seconds_total</c>, in <see cref="WriterBusy"/>'s order.</summary>
    internal static readonly string[] WriterSteps = ["batch", "rollups", "retention", "compaction"];
    private Func<bool>? _judges;
    private Func<string, bool>? _holdsSource;
    private RoadmapConfig? _described;
    private bool _judgementShown = true;

    // The labelled children RecordPoll touches, per source id: 2,000 polls a second would otherwise pay a label
    // array and a dictionary lookup per series per poll. ForgetSource drops an entry before it removes the series, so
    // a cached child never outlives its series.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SourceSeries> _sourceSeries = new(StringComparer.Ordinal);

    public RoadmapMetrics(CollectorRegistry registry)
    {
        Registry = registry;
        var f = Metrics.WithCustomRegistry(registry);
        string[] kpi = ["initiative", "kpi"];
        string[] source = ["source", "kind"];
        _kpiValue = f.CreateGauge("roadmap_kpi_value", "The KPI's current value over its window (absent while it has no data).", kpi);
        _kpiTarget = f.CreateGauge("roadmap_kpi_target", "The KPI's absolute target, baseline applied.", kpi);
        _kpiMet = f.CreateGauge("roadmap_kpi_met", "1 when the KPI's value satisfies its target, else 0.", kpi);
        _kpiStatus = f.CreateGauge("roadmap_kpi_status", "The KPI's status as a state set: 1 for the current status.", [.. kpi, "status"]);
        _kpiDeadline = f.CreateGauge("roadmap_kpi_deadline_timestamp_seconds", "When the KPI's target must be reached (end of its deadline day), unix seconds.", kpi);
        _kpiForecast = f.CreateGauge("roadmap_kpi_forecast_value", "The KPI's robust (Theil-Sen) trend projected to its deadline, bounded to what the value can be (absent with too little history).", kpi);
        _kpiErrorBudget = f.CreateGauge("roadmap_kpi_error_budget_remaining_ratio", "For budget KPIs: the share of the whole window's error budget left, 1 - (1 - value) x coverage / (1 - target); 1 untouched, 0 spent, below 0 overspent.", kpi);
        _kpiCoverage = f.CreateGauge("roadmap_kpi_window_coverage_ratio", "The share of the KPI's window observed: from one source interval before its first sample to now, over the window's length.", kpi);
        _kpiBurnRate = f.CreateGauge("roadmap_kpi_burn_rate", "For budget KPIs: how fast the error budget burns over the last window (5m ... 3d): (1 - value over it) x its coverage / (1 - target); 1 spends it exactly over the KPI's window.", [.. kpi, "window"]);
        _kpiForecastLower = f.CreateGauge("roadmap_kpi_forecast_lower", "Lower end (10th percentile) of the forecast's 80% prediction interval at the deadline.", kpi);
        _kpiForecastUpper = f.CreateGauge("roadmap_kpi_forecast_upper", "Upper end (90th percentile) of the forecast's 80% prediction interval at the deadline.", kpi);
        _kpiForecastProbability = f.CreateGauge("roadmap_kpi_forecast_probability", "The probability that the KPI meets its target at its deadline, 0..1.", kpi);
        _kpiBaseline = f.CreateGauge("roadmap_kpi_baseline_value", "The baseline a relative target is measured against.", kpi);
        _initiativeHealth = f.CreateGauge("roadmap_initiative_health", "The initiative's health as a state set: 1 for the current health.", ["initiative", "health"]);
        _initiativeBlocked = f.CreateGauge("roadmap_initiative_blocked", "1 when the initiative is in progress while a dependency is not done.", ["initiative"]);
        _initiativeKpis = f.CreateGauge("roadmap_initiative_kpis", "The initiative's number of KPIs.", ["initiative"]);
        _initiativeKpisMet = f.CreateGauge("roadmap_initiative_kpis_met", "The initiative's number of KPIs whose target is met.", ["initiative"]);
        _initiativeStart = f.CreateGauge("roadmap_initiative_start_timestamp_seconds", "Start of the initiative's timeline, unix seconds.", ["initiative"]);
        _initiativeDue = f.CreateGauge("roadmap_initiative_due_timestamp_seconds", "End of the initiative's due day, unix seconds.", ["initiative"]);
        _kpiInfo = f.CreateGauge("roadmap_kpi_info", "The KPI's description; always 1.", [.. kpi, "name", "unit", "aggregate", "window", "comparison"]);
        _initiativeInfo = f.CreateGauge("roadmap_initiative_info", "The initiative's description; always 1.", ["initiative", "name", "goal", "declared_status"]);
        _sourceUp = f.CreateGauge("roadmap_source_up", "1 when the source's last poll succeeded, else 0.", source);
        _polls = f.CreateCounter("roadmap_source_polls_total", "Polls of the source, by outcome.", [.. source, "outcome"]);
        _pollDuration = f.CreateHistogram("roadmap_source_poll_duration_seconds", "How long polls of the source took.", new HistogramConfiguration
        {
            LabelNames = source,
            Buckets = PollDurationBuckets,
        });
        _ticksSkipped = f.CreateCounter("roadmap_source_ticks_skipped_total", "Ticks of the source skipped because its previous poll still ran (absent until the first).", source);
        _pollLateness = f.CreateHistogram("roadmap_poll_lateness_seconds", "How late polls start against their schedule (start minus scheduled fire time), all sources together.", new HistogramConfiguration
        {
            Buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
        });
        _lastSuccess = f.CreateGauge("roadmap_source_last_success_timestamp_seconds", "When the source last polled successfully, unix seconds.", source);
        _samplesWritten = f.CreateCounter("roadmap_samples_written_total", "Samples committed to the database.");
        _pollsDropped = f.CreateCounter("roadmap_storage_polls_dropped_total", "Polls not stored: the write queue was full, or the database refused them at shutdown.");
        _writeFailures = f.CreateCounter("roadmap_storage_write_failures_total", "Failed database commits (each is retried).");
        _batches = f.CreateCounter("roadmap_storage_batches_total", "Database transactions that committed polls and their samples.");
        // One child per step of the write loop, all present from the start: a step that has not run yet reads 0.
        var busy = f.CreateCounter("roadmap_storage_writer_busy_seconds_total", "Wall time the storage writer spent working, by step (batch, rollups, retention, compaction); the rest it waited for polls. The sum's rate is its busy share: near 1 it cannot keep up, the queue grows, and polls are dropped once it is full.", ["step"]);
        _writerBusy = [.. WriterSteps.Select(step => busy.WithLabels(step))];
        _writerCpu = f.CreateCounter("roadmap_storage_writer_cpu_seconds_total", "CPU time the storage writer's thread used in its steps (all of roadmap_storage_writer_busy_seconds_total's). Well below the busy time, the writer waits while it works: for a core, the disk or a lock; near it, the work is the cost. Absent where the thread's CPU clock cannot be read (not Linux).", new CounterConfiguration { SuppressInitialValue = true });
        _queueLength = f.CreateGauge("roadmap_storage_queue_length", "Polls waiting to be written.");
        _databaseBytes = f.CreateGauge("roadmap_storage_database_bytes", "Size of the SQLite database on disk: the main file plus its write-ahead log.");
        _storageHealthy = f.CreateGauge("roadmap_storage_healthy", "1 when the last database commit succeeded, else 0 (samples wait in the queue and are retried).");
        _storageState = f.CreateGauge("roadmap_storage_state", "Why commits fail, as a state set: 1 for the current state (ok, locked, disk_full, failing, file_lost).", ["state"]);
        _rowsPruned = f.CreateCounter("roadmap_storage_rows_pruned_total", "Rows (samples, polls, rollups) deleted by retention.");
        _filesLost = f.CreateCounter("roadmap_storage_file_lost_total", "Times the database file (or its write-ahead log) was found deleted, moved or replaced under the running service; each time a database is opened at the path again.");
        _chunksSealed = f.CreateCounter("roadmap_storage_chunks_sealed_total", "Chunks written by compaction (each seals a closed hour or UTC day of one series, its hour chunks and late samples merged in).");
        _samplesSealed = f.CreateCounter("roadmap_storage_samples_sealed_total", "Hot samples moved into chunks by compaction.");
        // Absent until a sweep has ended: a 0 would read as a sweep that took no time.
        var untilSet = new GaugeConfiguration { SuppressInitialValue = true };
        _sqliteMemoryBytes = f.CreateGauge("roadmap_storage_sqlite_memory_bytes", "Memory SQLite holds in this process: the page caches of every connection, statements and schema (absent with PostgreSQL).", untilSet);
        _lastSweepSeconds = f.CreateGauge("roadmap_storage_compaction_last_sweep_seconds", "Wall time of the last compaction sweep that sealed anything (the first after start of a database written before chunks is its conversion), polls written in between.", untilSet);
        _lastSweepSamples = f.CreateGauge("roadmap_storage_compaction_last_sweep_samples", "Hot samples the last compaction sweep that sealed anything moved into chunks.", untilSet);
        _evaluations = f.CreateCounter("roadmap_evaluations_total", "Evaluation rounds run.");
        _evaluationDuration = f.CreateHistogram("roadmap_evaluation_duration_seconds", "How long evaluation rounds took: every KPI and initiative judged, the history stored.", new HistogramConfiguration
        {
            Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        });
        // Prometheus' own names for its config reloads, so the same alert shape fits.
        _reloadSuccessful = f.CreateGauge("roadmap_config_last_reload_successful", "1 when the last config (re)load succeeded, 0 when the file was invalid and the previous config kept running.");
        _reloadSuccessTimestamp = f.CreateGauge("roadmap_config_last_reload_success_timestamp_seconds", "When the running config was last loaded successfully (at start or by a reload), unix seconds.");
        _reloads = f.CreateCounter("roadmap_config_reloads_total", "Config reloads tried (file change or SIGHUP), by result.", ["result"]);
        _updateDeliveries = f.CreateCounter("roadmap_update_deliveries_total", "Fires of scheduled updates (settings.updates), by update and outcome: success, or failure (given up after its attempts until the next fire).", ["update", "outcome"]);
        var version = typeof(RoadmapMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";
        f.CreateGauge("roadmap_build_info", "Roadmap's version; always 1.", ["version"]).WithLabels(version).Set(1);
    }

    public CollectorRegistry Registry { get; }

    /// <summary>
    /// Writes what /metrics serves: <c>roadmap_signal_value</c> (kept outside the registry, see <see cref="SignalValues"/>)
    /// and then the registry's families, its before-collect callbacks run, in <paramref name="format"/>.
    /// </summary>
    public async Task ExportAsync(Stream stream, ExpositionFormat format = ExpositionFormat.PrometheusText, CancellationToken ct = default)
    {
        await _signals.WriteAsync(stream, format, _holdsSource, ct);
        await Registry.CollectAndExportAsTextAsync(stream, format, ct);
    }

    /// <summary>Polls counted in /metrics since start, for the shutdown log line.</summary>
    public long PollCount => Interlocked.Read(ref _pollCount);

    /// <summary>
    /// Declares the series that exist from the start: info, zeroed counters, statuses. Called again after a reload, it
    /// also drops the described series the new config no longer has (an initiative renamed, a timeline removed).
    /// </summary>
    public void Describe(RoadmapConfig config)
    {
        _described = config;
        foreach (var s in config.Sources)
        {
            if (_holdsSource is { } holds && !holds(s.Id))
            {
                continue;
            }

            _polls.WithLabels(s.Id, s.Kind, "success").IncTo(0);
            _polls.WithLabels(s.Id, s.Kind, "failure").IncTo(0);
        }

        foreach (var u in config.Settings.Updates.Items)
        {
            _updateDeliveries.WithLabels(u.Name, "success").IncTo(0);
            _updateDeliveries.WithLabels(u.Name, "failure").IncTo(0);
        }

        if (_judges is { } judges && !judges())
        {
            return;
        }

        DescribeJudgement(config);
    }

    /// <summary>The described series of initiatives and KPIs: info, KPI counts, timelines.</summary>
    private void DescribeJudgement(RoadmapConfig config)
    {
        var initiativeInfo = new HashSet<string>(StringComparer.Ordinal);
        var kpiInfo = new HashSet<string>(StringComparer.Ordinal);
        var timelines = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in config.Initiatives)
        {
            string[] info = [i.Id, i.Name, i.Goal ?? "", i.Status.Label()];
            _initiativeInfo.WithLabels(info).Set(1);
            initiativeInfo.Add(Key(info));
            _initiativeKpis.WithLabels(i.Id).Set(i.Kpis.Count);
            if (i.Timeline is { } t)
            {
                _initiativeStart.WithLabels(i.Id).Set(Dates.StartOfDay(t.Start, config.Settings.TimeZone).ToUnixTimeSeconds());
                _initiativeDue.WithLabels(i.Id).Set(Dates.EndOfDay(t.Due, config.Settings.TimeZone).ToUnixTimeSeconds());
                timelines.Add(i.Id);
            }

            foreach (var k in i.Kpis)
            {
                string[] labels = [i.Id, k.Id, k.Name, k.Unit ?? "", k.Aggregate.Name(), k.Window.ToString(), Target.Symbol(k.Target.Op)];
                _kpiInfo.WithLabels(labels).Set(1);
                kpiInfo.Add(Key(labels));
            }
        }

        var initiatives = config.Initiatives.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        RemoveWhere(_initiativeInfo, l => !initiativeInfo.Contains(Key(l)));
        RemoveWhere(_kpiInfo, l => !kpiInfo.Contains(Key(l)));
        RemoveWhere(_initiativeKpis, l => !initiatives.Contains(l[0]));
        RemoveWhere(_initiativeStart, l => !timelines.Contains(l[0]));
        RemoveWhere(_initiativeDue, l => !timelines.Contains(l[0]));
    }

    /// <summary>
    /// Limits what this process exports to its share of a cluster: the KPI and initiative series only while
    /// <paramref name="judges"/> says this replica is the evaluator, and a source's series only while
    /// <paramref name="holdsSource"/> says it polls that source. Applied each time /metrics is collected, so a series
    /// leaves the moment its ownership moves and Prometheus never holds two replicas' copies of one series.
    /// </summary>
    public void Scope(Func<bool> judges, Func<string, bool> holdsSource)
    {
        _judges = judges;
        _holdsSource = holdsSource;
        Registry.AddBeforeCollectCallback(ApplyScope);
    }

    private void ApplyScope()
    {
        var judges = _judges!();
        // Every time, not only on the change: a round that was running when the role moved may have set series since.
        if (!judges)
        {
            foreach (var gauge in JudgementGauges())
            {
                RemoveWhere(gauge, static _ => true);
            }
        }
        else if (judges && !_judgementShown && _described is { } config)
        {
            DescribeJudgement(config);
        }

        _judgementShown = judges;
        var holds = _holdsSource!;
        var away = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in _sourceSeries.Keys.Concat(_signals.Sources).Concat(_polls.GetAllLabelValues().Select(l => l[0])))
        {
            if (!away.Contains(id) && !holds(id))
            {
                away.Add(id);
            }
        }

        if (away.Count == 0)
        {
            return;
        }

        // One pass per metric for all of them: a shard moving takes thousands of sources at once.
        foreach (var id in away)
        {
            // The row first: a series object cached in between, holding the row forgotten, is then dropped too.
            _signals.Forget(id);
            _sourceSeries.TryRemove(id, out _);
        }

        bool Away(string[] l) => away.Contains(l[0]);
        RemoveWhere(_sourceUp, Away);
        RemoveWhere(_polls, Away);
        RemoveWhere(_ticksSkipped, Away);
        RemoveWhere(_pollDuration, Away);
        RemoveWhere(_lastSuccess, Away);
    }

    private IEnumerable<Gauge> JudgementGauges() =>
    [
        _kpiValue, _kpiTarget, _kpiMet, _kpiStatus, _kpiDeadline, _kpiForecast, _kpiErrorBudget, _kpiBaseline, _kpiCoverage, _kpiBurnRate,
        _kpiForecastLower, _kpiForecastUpper, _kpiForecastProbability, _kpiInfo, _initiativeHealth, _initiativeBlocked, _initiativeKpis,
        _initiativeKpisMet, _initiativeStart, _initiativeDue, _initiativeInfo,
    ];

    /// <summary>
    /// After a reload took a source out (or replaced it): drops its series that no longer describe a configured
    /// source — all of them when <paramref name="current"/> is null, else those of another kind or of a signal it no
    /// longer emits.
    /// </summary>
    /// <param name="current">The source now configured under <paramref name="id"/>, if any.</param>
    public void ForgetSource(string id, SourceConfig? current)
    {
        _sourceSeries.TryRemove(id, out _);
        bool Stale(string[] l) => l[0] == id && (current is null || l[1] != current.Kind);
        RemoveWhere(_sourceUp, Stale);
        RemoveWhere(_polls, Stale);
        RemoveWhere(_ticksSkipped, Stale);
        RemoveWhere(_pollDuration, Stale);
        RemoveWhere(_lastSuccess, Stale);
        if (current is null)
        {
            _signals.Forget(id);
        }
        else
        {
            _signals.Retain(id, current.Signals);
        }
        // Again, last: a poll recorded while the series were being removed may have cached children (or a signal row)
        // just removed.
        _sourceSeries.TryRemove(id, out _);
    }

    /// <summary>Drops the judged series of KPIs and initiatives the config no longer has; the evaluator calls this.</summary>
    public void ForgetEvaluations(RoadmapConfig config)
    {
        var initiatives = config.Initiatives.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        var kpis = config.Initiatives.SelectMany(i => i.Kpis.Select(k => Key([i.Id, k.Id]))).ToHashSet(StringComparer.Ordinal);
        bool StaleKpi(string[] l) => !kpis.Contains(Key([l[0], l[1]]));
        foreach (var gauge in new[] { _kpiValue, _kpiTarget, _kpiMet, _kpiStatus, _kpiDeadline, _kpiForecast, _kpiErrorBudget, _kpiBaseline, _kpiCoverage, _kpiBurnRate, _kpiForecastLower, _kpiForecastUpper, _kpiForecastProbability })
        {
            RemoveWhere(gauge, StaleKpi);
        }

        foreach (var gauge in new[] { _initiativeHealth, _initiativeBlocked, _initiativeKpisMet })
        {
            RemoveWhere(gauge, l => !initiatives.Contains(l[0]));
        }
    }

    /// <summary>The config in force was loaded at <paramref name="at"/> (at start); no reload is counted.</summary>
    public void RecordConfigLoaded(DateTimeOffset at)
    {
        _reloads.WithLabels("success").IncTo(0);
        _reloads.WithLabels("failure").IncTo(0);
        _reloadSuccessful.Set(1);
        _reloadSuccessTimestamp.Set(at.ToUnixTimeMilliseconds() / 1000.0);
    }

    /// <summary>One reload's result: on success the new config runs from <paramref name="at"/>; on failure the old one goes on.</summary>
    public void RecordReload(bool success, DateTimeOffset at)
    {
        _reloads.WithLabels(success ? "success" : "failure").Inc();
        _reloadSuccessful.Set(success ? 1 : 0);
        if (success)
        {
            _reloadSuccessTimestamp.Set(at.ToUnixTimeMilliseconds() / 1000.0);
        }
    }

    /// <summary>Updates the storage series from the writer's counters; call before each scrape.</summary>
    public void CollectStorage(IPollWriter writer)
    {
        _samplesWritten.IncTo(writer.SamplesWritten);
        _pollsDropped.IncTo(writer.PollsDropped);
        _writeFailures.IncTo(writer.WriteFailures);
        _batches.IncTo(writer.Batches);
        var busy = writer.Busy;
        _writerBusy[0].IncTo(busy.Batches.TotalSeconds);
        _writerBusy[1].IncTo(busy.Rollups.TotalSeconds);
        _writerBusy[2].IncTo(busy.Retention.TotalSeconds);
        _writerBusy[3].IncTo(busy.Compaction.TotalSeconds);
        if (busy.Cpu is { } cpu)
        {
            _writerCpu.IncTo(cpu.TotalSeconds);
        }

        _queueLength.Set(writer.QueueLength);
        _databaseBytes.Set(writer.DatabaseBytes);
        if (writer.StoreMemoryBytes is { } memory)
        {
            _sqliteMemoryBytes.Set(memory);
        }
        var health = writer.Health;
        _storageHealthy.Set(health == StorageHealth.Ok ? 1 : 0);
        foreach (var state in StorageHealths.All)
        {
            _storageState.WithLabels(state.Label()).Set(state == health ? 1 : 0);
        }

        _rowsPruned.IncTo(writer.RowsPruned);
        _filesLost.IncTo(writer.FilesLost);
        _chunksSealed.IncTo(writer.ChunksSealed);
        _samplesSealed.IncTo(writer.SamplesSealed);
        if (writer.LastSweep is { } sweep)
        {
            _lastSweepSeconds.Set(sweep.Duration.TotalSeconds);
            _lastSweepSamples.Set(sweep.Samples);
        }
    }

    public void RecordPoll(SourceConfig source, PollResult result, DateTimeOffset at)
    {
        var series = SeriesOf(source);
        (result.Success ? series.Success : series.Failure).Inc();
        Interlocked.Increment(ref _pollCount);
        series.Duration.Observe(result.Duration.TotalSeconds);
        series.Up.Set(result.Success ? 1 : 0);
        if (result.Success)
        {
            series.LastSuccess.Set(at.ToUnixTimeMilliseconds() / 1000.0);
        }

        series.Signals.Set(result.Samples);
    }

    /// <summary>A tick of the source skipped because its previous poll still ran.</summary>
    public void RecordSkippedTick(SourceConfig source) => SeriesOf(source).TicksSkipped.Inc();

    private SourceSeries SeriesOf(SourceConfig source) =>
        _sourceSeries.TryGetValue(source.Id, out var cached) && cached.Kind == source.Kind
            ? cached
            : _sourceSeries[source.Id] = new SourceSeries(this, source.Id, source.Kind);

    /// <summary>How late a poll started against its scheduled fire time, in seconds (negative clock skew counts as 0).</summary>
    public void RecordLateness(TimeSpan lateness) => _pollLateness.Observe(Math.Max(0, lateness.TotalSeconds));

    public void RecordEvaluation(KpiEvaluation e)
    {
        if (e.Value is { } v)
        {
            _kpiValue.WithLabels(e.Initiative, e.Kpi).Set(v);
        }
        else
        {
            _kpiValue.RemoveLabelled(e.Initiative, e.Kpi);
        }

        if (e.Target is { } t)
        {
            _kpiTarget.WithLabels(e.Initiative, e.Kpi).Set(t);
        }

        if (e.Deadline is { } d)
        {
            _kpiDeadline.WithLabels(e.Initiative, e.Kpi).Set(d.ToUnixTimeSeconds());
        }

        SetOrRemove(_kpiForecast, e.Forecast, e.Initiative, e.Kpi);
        SetOrRemove(_kpiErrorBudget, e.ErrorBudgetRemaining, e.Initiative, e.Kpi);
        SetOrRemove(_kpiBaseline, e.Baseline, e.Initiative, e.Kpi);
        SetOrRemove(_kpiForecastLower, e.ForecastLower, e.Initiative, e.Kpi);
        SetOrRemove(_kpiForecastUpper, e.ForecastUpper, e.Initiative, e.Kpi);
        SetOrRemove(_kpiForecastProbability, e.ForecastProbability, e.Initiative, e.Kpi);
        _kpiCoverage.WithLabels(e.Initiative, e.Kpi).Set(e.Coverage);
        var burns = e.BurnRates ?? [];
        foreach (var (label, _) in ErrorBudget.BurnWindows)
        {
            SetOrRemove(_kpiBurnRate, burns.FirstOrDefault(b => b.Label == label)?.Rate, e.Initiative, e.Kpi, label);
        }

        _kpiMet.WithLabels(e.Initiative, e.Kpi).Set(e.Met ? 1 : 0);
        foreach (var status in KpiStatuses.All)
        {
            _kpiStatus.WithLabels(e.Initiative, e.Kpi, status.Label()).Set(status == e.Status ? 1 : 0);
        }
    }

    public void RecordInitiative(InitiativeEvaluation e)
    {
        foreach (var health in InitiativeHealth.All)
        {
            _initiativeHealth.WithLabels(e.Initiative, health.Label()).Set(health == e.Health ? 1 : 0);
        }

        _initiativeBlocked.WithLabels(e.Initiative).Set(e.Blocked ? 1 : 0);
        _initiativeKpisMet.WithLabels(e.Initiative).Set(e.KpisMet);
    }

    public void RecordEvaluationRound(TimeSpan took)
    {
        _evaluations.Inc();
        _evaluationDuration.Observe(took.TotalSeconds);
    }

    // What happened, as the rooms tell it (IRoadmapEvents): each is the series update named after it.
    void IRoadmapEvents.PollStarted(TimeSpan lateness) => RecordLateness(lateness);

    void IRoadmapEvents.PollSkipped(SourceConfig source) => RecordSkippedTick(source);

    void IRoadmapEvents.PollRecorded(SourceConfig source, PollResult result, DateTimeOffset at) => RecordPoll(source, result, at);

    void IRoadmapEvents.KpiEvaluated(KpiEvaluation evaluation) => RecordEvaluation(evaluation);

    void IRoadmapEvents.InitiativeEvaluated(InitiativeEvaluation evaluation) => RecordInitiative(evaluation);

    void IRoadmapEvents.RoundEvaluated(TimeSpan took) => RecordEvaluationRound(took);

    void IRoadmapEvents.EvaluatedConfigReplaced(RoadmapConfig config) => ForgetEvaluations(config);

    void IRoadmapEvents.ConfigLoaded(DateTimeOffset at) => RecordConfigLoaded(at);

    void IRoadmapEvents.ConfigApplied(RoadmapConfig config) => Describe(config);

    void IRoadmapEvents.ConfigReloaded(bool success, DateTimeOffset at) => RecordReload(success, at);

    void IRoadmapEvents.SourceRetired(string id, SourceConfig? current) => ForgetSource(id, current);

    void IRoadmapEvents.UpdateDelivered(string update, bool success) => RecordUpdateDelivery(update, success);

    /// <summary>A scheduled update's fire ended: sent, or given up (<c>roadmap_update_deliveries_total</c>).</summary>
    public void RecordUpdateDelivery(string update, bool success) => _updateDeliveries.WithLabels(update, success ? "success" : "failure").Inc();

    /// <summary>One source's labelled children, looked up once.</summary>
    private sealed class SourceSeries
    {
        private readonly RoadmapMetrics _m;
        private readonly string _id;
        private Gauge.Child? _lastSuccess;
        private Counter.Child? _ticksSkipped;

        public SourceSeries(RoadmapMetrics m, string id, string kind)
        {
            _m = m;
            _id = id;
            Kind = kind;
            Success = m._polls.WithLabels(id, kind, "success");
            Failure = m._polls.WithLabels(id, kind, "failure");
            Duration = m._pollDuration.WithLabels(id, kind);
            Up = m._sourceUp.WithLabels(id, kind);
            Signals = m._signals.RowOf(id);
        }

        public string Kind { get; }

        public Counter.Child Success { get; }

        public Counter.Child Failure { get; }

        public Histogram.Child Duration { get; }

        public Gauge.Child Up { get; }

        // Created on the first success, not before: a source that never answered has no last-success series.
        public Gauge.Child LastSuccess => _lastSuccess ??= _m._lastSuccess.WithLabels(_id, Kind);

        // Created at the first skipped tick: most sources never skip one, and thousands of zero series would cost memory.
        public Counter.Child TicksSkipped => _ticksSkipped ??= _m._ticksSkipped.WithLabels(_id, Kind);

        public SignalValues.Row Signals { get; }
    }

    private static string Key(string[] labels) => string.Join('\u001f', labels);

    private static void RemoveWhere<TChild>(Collector<TChild> metric, Func<string[], bool> stale)
        where TChild : ChildBase
    {
        foreach (var labels in metric.GetAllLabelValues().Where(stale).ToList())
        {
            metric.RemoveLabelled(labels);
        }
    }

    private static void SetOrRemove(Gauge gauge, double? value, params string[] labels)
    {
        if (value is { } v)
        {
            gauge.WithLabels(labels).Set(v);
        }
        else
        {
            gauge.RemoveLabelled(labels);
        }
    }
}
