using System.Globalization;
using System.Text;
using Roadmap.Worker.Cluster;
using Roadmap.Worker.Scheduling;

namespace Roadmap.EndToEnd.Tests.Cluster;

/// <summary>A source as the audit knows it: its id and interval (ms).</summary>
internal sealed record AuditedSource(string Id, long EveryMs);

/// <summary>A row of the polls table: the tick it ran for, the replica that ran it, when it started (Unix ms).</summary>
internal sealed record StoredPoll(string Source, long ScheduledTs, string Node, long Ts);

/// <summary>A poll as the target saw it arrive (Unix ms).</summary>
internal sealed record TargetHit(string Source, long At);

internal enum ReplicaEventKind
{
    /// <summary>The process was started (the first start or a restart).</summary>
    Started,

    /// <summary>SIGKILL: no shutdown code ran.</summary>
    Killed,

    /// <summary>SIGSTOP: alive but silent.</summary>
    Frozen,

    /// <summary>SIGCONT after a freeze.</summary>
    Thawed,

    /// <summary>SIGTERM: a graceful stop that hands its sources over.</summary>
    Terminated,
}

/// <summary>What the harness did to one replica, and when (Unix ms).</summary>
internal sealed record ReplicaEvent(long At, string Node, ReplicaEventKind Kind);

/// <summary>One replica at one scrape: whether /metrics answered, whether it exported any roadmap_kpi_ series, and its roadmap_cluster_sources_held.</summary>
internal sealed record ReplicaView(bool Answered, bool ExportsKpis, double? SourcesHeld);

/// <summary>One round of scrapes of every live replica, started at <paramref name="At"/> (Unix ms).</summary>
internal sealed record Scrape(long At, IReadOnlyDictionary<string, ReplicaView> Replicas);

/// <summary>A span of time [From, To) in Unix ms.</summary>
internal sealed record TimeSpanMs(long From, long To)
{
    public bool Contains(long t) => t >= From && t < To;

    public long Length => To - From;
}

/// <summary>The issue's goals; the defaults are the issue's figures.</summary>
/// <param name="TakeoverMedian">Per source, from the loss of its replica to its first poll by a live one: median at most this.</param>
/// <param name="TakeoverMax">The same, at most this for every source.</param>
/// <param name="Rejoin">A started replica holds its share of the sources within this of its start.</param>
/// <param name="KpiGap">No span of scrapes without a KPI exporter is longer than this.</param>
/// <param name="Share">Its share: this fraction of sources / replicas (the share is "roughly" a third).</param>
internal sealed record AuditGoals(TimeSpan TakeoverMedian, TimeSpan TakeoverMax, TimeSpan Rejoin, TimeSpan KpiGap, double Share)
{
    public static readonly AuditGoals Issue = new(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(45), TimeSpan.FromSeconds(45), 2.0 / 3);
}

/// <summary>Everything the audit reads: the stored polls, the target's log, what was done to the replicas, the scrapes.</summary>
/// <param name="Audited">Ticks in this span must each be polled (those in a lost replica's takeover gap excepted).</param>
/// <param name="Calm">Spans with no fault or start in or just before them: no source may change replica there.</param>
/// <param name="Replicas">How many replicas share the sources when all are up.</param>
/// <param name="Ownership">The cluster's own record of window owners; null for a single process.</param>
internal sealed record AuditInput(
    IReadOnlyList<AuditedSource> Sources,
    IReadOnlyList<StoredPoll> Polls,
    IReadOnlyList<TargetHit> Hits,
    IReadOnlyList<ReplicaEvent> Events,
    IReadOnlyList<Scrape> Scrapes,
    TimeSpanMs Audited,
    IReadOnlyList<TimeSpanMs> Calm,
    int Replicas,
    Ownership? Ownership = null);

/// <summary>
/// The shard_windows table: the one owner of each (shard, window start), sources hashed into <paramref name="Shards"/>
/// shards, windows <paramref name="WindowMs"/> long on the Unix-ms grid.
/// </summary>
internal sealed record Ownership(IReadOnlyDictionary<(int Shard, long WindowStart), string> Owners, int Shards, long WindowMs)
{
    /// <summary>Who owned the window of the source's shard that holds <paramref name="t"/> (null: nobody claimed it).</summary>
    public string? OwnerOf(string sourceId, long t) =>
        Owners.GetValueOrDefault((ClusterShards.Of(sourceId, Shards), ClusterShards.WindowStart(t, WindowMs)));
}

/// <summary>A tick polled more than once.</summary>
internal sealed record Duplicate(string Source, long Tick, int Count);

/// <summary>A tick of the audited span polled by nobody, outside any takeover gap.</summary>
internal sealed record Miss(string Source, long Tick);

/// <summary>
/// The sources a lost (killed or frozen) replica held, and per source how long after the loss another poll came (ms);
/// <paramref name="Never"/> are those not polled again by the end.
/// </summary>
internal sealed record Takeover(ReplicaEvent Loss, IReadOnlyList<long> PerSourceMs, IReadOnlyList<string> Never)
{
    public long? MedianMs => PerSourceMs.Count == 0 ? null : Median(PerSourceMs);

    public long? MaxMs => PerSourceMs.Count == 0 ? null : PerSourceMs.Max();

    private static long Median(IReadOnlyList<long> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}

/// <summary>A replica (re)started in the audited span: how long until it held its share (null: never), and the most it held.</summary>
internal sealed record Rejoin(ReplicaEvent Start, long? HeldShareAfterMs, double MostHeld, double Share);

/// <summary>The KPI gap after the loss of the replica that exported the KPIs: null when nobody exported again.</summary>
internal sealed record EvaluatorLoss(ReplicaEvent Loss, long? GapMs);

/// <summary>A source whose consecutive polls were by different replicas inside a calm span.</summary>
internal sealed record OwnerChange(string Source, StoredPoll Before, StoredPoll After);

/// <summary>The audit's findings, and which of them break a goal.</summary>
internal sealed record AuditReport(
    AuditInput Input,
    IReadOnlyList<Duplicate> DuplicatePolls,
    IReadOnlyList<Duplicate> DuplicateHits,
    int LateHits,
    IReadOnlyList<StoredPoll> OffGridPolls,
    IReadOnlyList<StoredPoll> NonOwnerPolls,
    IReadOnlyList<StoredPoll> StalePolls,
    long AuditedTicks,
    IReadOnlyList<Miss> Missed,
    IReadOnlyList<Miss> Excused,
    IReadOnlyList<Takeover> Takeovers,
    IReadOnlyList<Rejoin> Rejoins,
    IReadOnlyList<Scrape> DoubleExporters,
    long? LongestKpiGapMs,
    IReadOnlyList<EvaluatorLoss> EvaluatorLosses,
    IReadOnlyList<OwnerChange> CalmOwnerChanges)
{
    /// <summary>Each goal broken, in one line each; empty when the run meets every goal.</summary>
    public IReadOnlyList<string> Failures(AuditGoals goals)
    {
        var failures = new List<string>();
        void Fail(bool broken, string line)
        {
            if (broken)
            {
                failures.Add(line);
            }
        }

        Fail(DuplicatePolls.Count > 0, $"{DuplicatePolls.Count} ticks stored more than once, e.g. {First(DuplicatePolls)}");
        Fail(DuplicateHits.Count > 0, $"{DuplicateHits.Count} ticks polled more than once at the target, e.g. {First(DuplicateHits)}; {(DuplicateHits.Count > 0 ? Trail(DuplicateHits[0]) : "")}");
        Fail(NonOwnerPolls.Count > 0, $"{NonOwnerPolls.Count} polls by a replica that did not own the tick's shard window, e.g. {First(NonOwnerPolls)}");
        Fail(StalePolls.Count > 0, $"{StalePolls.Count} polls started over an interval after their tick by a replica that no longer owned the source (another may poll it at that moment), e.g. {First(StalePolls)}");
        Fail(OffGridPolls.Count > 0, $"{OffGridPolls.Count} polls stored with a scheduled_ts off the source's tick grid, e.g. {First(OffGridPolls)}");
        Fail(Missed.Count > 0, $"{Missed.Count} ticks missed outside a takeover gap, e.g. {string.Join(", ", Missed.Take(5).Select(m => $"{m.Source}@{Rel(m.Tick)}"))}");
        foreach (var t in Takeovers)
        {
            var what = $"takeover after {Describe(t.Loss)}";
            Fail(t.PerSourceMs.Count + t.Never.Count == 0, $"{what}: the lost replica held no source");
            Fail(t.Never.Count > 0, $"{what}: {t.Never.Count} sources never polled again, e.g. {string.Join(", ", t.Never.Take(3))}");
            Fail(t.MedianMs > goals.TakeoverMedian.TotalMilliseconds, $"{what}: median {Seconds(t.MedianMs)} > {goals.TakeoverMedian.TotalSeconds} s");
            Fail(t.MaxMs > goals.TakeoverMax.TotalMilliseconds, $"{what}: max {Seconds(t.MaxMs)} > {goals.TakeoverMax.TotalSeconds} s");
        }

        foreach (var r in Rejoins)
        {
            Fail(
                r.HeldShareAfterMs is null || r.HeldShareAfterMs > goals.Rejoin.TotalMilliseconds,
                $"{Describe(r.Start)}: held {r.Share:0} sources only after {Seconds(r.HeldShareAfterMs)} (at most {r.MostHeld:0}); goal {goals.Rejoin.TotalSeconds} s");
        }

        Fail(DoubleExporters.Count > 0, $"{DoubleExporters.Count} scrapes with more than one replica exporting KPI series, the first at {(DoubleExporters.Count > 0 ? Rel(DoubleExporters[0].At) : "")}");
        Fail(LongestKpiGapMs is null, "no replica exported KPI series in the audited span");
        Fail(LongestKpiGapMs > goals.KpiGap.TotalMilliseconds, $"KPI series absent for {Seconds(LongestKpiGapMs)} > {goals.KpiGap.TotalSeconds} s");
        foreach (var e in EvaluatorLosses)
        {
            Fail(e.GapMs is null || e.GapMs > goals.KpiGap.TotalMilliseconds, $"after {Describe(e.Loss)} (the evaluator) KPI series came back after {Seconds(e.GapMs)}; goal {goals.KpiGap.TotalSeconds} s");
        }

        Fail(CalmOwnerChanges.Count > 0, $"{CalmOwnerChanges.Count} owner changes in calm spans (false failover), e.g. {First(CalmOwnerChanges)}");
        return failures;
    }

    /// <summary>The figures, for the test output and the bench.</summary>
    public string Summary()
    {
        var s = new StringBuilder();
        var audited = Input.Audited;
        s.AppendLine(CultureInfo.InvariantCulture, $"cluster audit: {Input.Sources.Count} sources, {Input.Replicas} replicas, audited {audited.Length / 1000.0:0.0} s ({AuditedTicks:N0} ticks), {Input.Polls.Count:N0} polls stored, {Input.Hits.Count:N0} hits at the target, {Input.Scrapes.Count} scrape rounds");
        s.AppendLine(CultureInfo.InvariantCulture, $"  duplicate polls of one tick: stored {DuplicatePolls.Count}, at the target {DuplicateHits.Count} (late hits counted for the tick before: {LateHits})");
        s.AppendLine(CultureInfo.InvariantCulture, $"  polls off the tick grid (audited span): {OffGridPolls.Count}; by a replica not owning the window: {(Input.Ownership is null ? "n/a" : NonOwnerPolls.Count)}; started over an interval late by a replica that had lost the source: {(Input.Ownership is null ? "n/a" : StalePolls.Count)}");
        var late = Input.Polls.Where(p => audited.Contains(p.ScheduledTs)).Select(p => p.Ts - p.ScheduledTs).Order().ToArray();
        if (late.Length > 0)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"  poll start after its tick: median {late[late.Length / 2]} ms, p99 {late[late.Length * 99 / 100]} ms, max {late[^1]} ms");
        }

        s.AppendLine(CultureInfo.InvariantCulture, $"  missed ticks: {Missed.Count} (in takeover gaps, excused: {Excused.Count:N0})");
        foreach (var t in Takeovers)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"  takeover after {Describe(t.Loss)}: {t.PerSourceMs.Count + t.Never.Count} sources, median {Seconds(t.MedianMs)}, max {Seconds(t.MaxMs)}, never {t.Never.Count}");
        }

        foreach (var r in Rejoins)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"  {Describe(r.Start)}: holds >= {r.Share:0} sources after {Seconds(r.HeldShareAfterMs)} (most held {r.MostHeld:0})");
        }

        s.AppendLine(CultureInfo.InvariantCulture, $"  KPI export: scrapes with two or more exporters {DoubleExporters.Count}; longest gap {Seconds(LongestKpiGapMs)}");
        foreach (var e in EvaluatorLosses)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"  KPI gap after {Describe(e.Loss)} (the evaluator): {Seconds(e.GapMs)}");
        }

        s.AppendLine(CultureInfo.InvariantCulture, $"  owner changes in calm spans ({Input.Calm.Sum(c => c.Length) / 1000.0:0.0} s): {CalmOwnerChanges.Count}");
        s.AppendLine("  phase (from the event, s)        missed  excused  duplicated");
        foreach (var (from, to, label) in Phases())
        {
            var missed = Missed.Count(m => m.Tick >= from && m.Tick < to);
            var dups = DuplicatePolls.Count(d => d.Tick >= from && d.Tick < to) + DuplicateHits.Count(d => d.Tick >= from && d.Tick < to);
            s.AppendLine(CultureInfo.InvariantCulture, $"  {label,-32} {missed,6} {Excused.Count(m => m.Tick >= from && m.Tick < to),8} {dups,11}");
        }

        return s.ToString();
    }

    private IEnumerable<(long From, long To, string Label)> Phases()
    {
        var audited = Input.Audited;
        var marks = Input.Events.Where(e => audited.Contains(e.At)).OrderBy(e => e.At).ToList();
        var from = audited.From;
        var label = "audited start";
        foreach (var e in marks)
        {
            yield return (from, e.At, label);
            from = e.At;
            label = Describe(e);
        }

        yield return (from, audited.To, label);
    }

    /// <summary>A moment as seconds from the audited span's start, to tenths (or to the millisecond when <paramref name="ms"/>).</summary>
    private string Rel(long t, bool ms = false) =>
        ((t - Input.Audited.From) / 1000.0).ToString(ms ? "+0.000;-0.000" : "+0.0;-0.0", CultureInfo.InvariantCulture) + "s";

    private string Describe(ReplicaEvent e) => $"{e.Kind.ToString().ToLowerInvariant()} {e.Node} at {Rel(e.At)}";

    private static string Seconds(long? ms) => ms is { } v ? string.Create(CultureInfo.InvariantCulture, $"{v / 1000.0:0.0} s") : "never";

    private static string First<T>(IReadOnlyList<T> items) => items.Count > 0 ? items[0]!.ToString()! : "";

    /// <summary>
    /// What the audit paired a duplicate from: the source's stored polls and the target's hits within three intervals
    /// of the tick, so a failed run says whether two replicas polled or a late hit was counted for the wrong tick.
    /// </summary>
    private string Trail(Duplicate d)
    {
        var every = Input.Sources.FirstOrDefault(s => s.Id == d.Source)?.EveryMs ?? 1000;
        bool Near(long t) => Math.Abs(t - d.Tick) <= 3 * every;
        var polls = Input.Polls.Where(p => p.Source == d.Source && (Near(p.ScheduledTs) || Near(p.Ts))).OrderBy(p => p.Ts)
            .Select(p => $"tick {Rel(p.ScheduledTs, ms: true)} started {Rel(p.Ts, ms: true)} by {p.Node}");
        var hits = Input.Hits.Where(h => h.Source == d.Source && Near(h.At)).OrderBy(h => h.At).Select(h => Rel(h.At, ms: true));
        return $"tick {Rel(d.Tick, ms: true)}: stored polls [{string.Join("; ", polls)}], hits at [{string.Join(", ", hits)}]";
    }
}

/// <summary>
/// The audit of a cluster run against the deterministic ticks (source X with interval E ticks at n*E + Spread(X, E)
/// Unix ms): duplicates, misses, takeover, rejoin, the single KPI exporter and calm ownership, all in one place so
/// the JIT and native runs and the bench judge alike.
/// </summary>
internal static class ClusterAudit
{
    /// <summary>The latest tick of the source at or before <paramref name="t"/>, by the worker's own tick function.</summary>
    public static long TickAtOrBefore(AuditedSource source, long t)
    {
        var next = ScheduleRegistrar.NextTick(source.Id, TimeSpan.FromMilliseconds(source.EveryMs), DateTimeOffset.FromUnixTimeMilliseconds(t)).ToUnixTimeMilliseconds();
        return next == t ? t : next - source.EveryMs;
    }

    /// <summary>
    /// The tick a stored poll stands for: its scheduled_ts, or for one off the grid (a failure of its own) the latest
    /// tick at or before it, so that it is neither a miss too nor hides a second poll of that tick.
    /// </summary>
    private static long GridTick(AuditedSource source, long scheduledTs) => TickAtOrBefore(source, scheduledTs + Early(source));

    // Timer slack: a poll may start, and reach the target, this much before its tick.
    private static long Early(AuditedSource source) => Math.Min(100, source.EveryMs / 10);

    public static bool IsTick(AuditedSource source, long t) => TickAtOrBefore(source, t) == t;

    public static AuditReport Run(AuditInput input, AuditGoals goals)
    {
        var sources = input.Sources.ToDictionary(s => s.Id);
        var polls = input.Polls.Where(p => sources.ContainsKey(p.Source)).GroupBy(p => p.Source).ToDictionary(g => g.Key, g => g.OrderBy(p => p.ScheduledTs).ThenBy(p => p.Ts).ToList());
        var hits = input.Hits.Where(h => sources.ContainsKey(h.Source)).GroupBy(h => h.Source).ToDictionary(g => g.Key, g => g.OrderBy(h => h.At).ToList());

        var duplicatePolls = input.Polls
            .GroupBy(p => (p.Source, p.ScheduledTs))
            .Where(g => g.Count() > 1)
            .Select(g => new Duplicate(g.Key.Source, g.Key.ScheduledTs, g.Count()))
            .OrderBy(d => d.Tick)
            .ToList();
        // In the audited span: a single process also polls each source once right at its start, off the grid.
        var offGrid = input.Polls.Where(p => input.Audited.Contains(p.Ts) && sources.TryGetValue(p.Source, out var s) && !IsTick(s, p.ScheduledTs)).ToList();

        var duplicateHits = new List<Duplicate>();
        var lateHits = 0;
        var hitTicks = new Dictionary<string, HashSet<long>>();
        foreach (var source in input.Sources)
        {
            var (ticks, dups, late) = AttributeHits(source, hits.GetValueOrDefault(source.Id) ?? [], polls.GetValueOrDefault(source.Id) ?? []);
            hitTicks[source.Id] = [.. ticks.Keys];
            duplicateHits.AddRange(dups);
            lateHits += late;
        }

        var takeovers = new List<Takeover>();
        var gaps = new Dictionary<string, List<(long After, long Before)>>();
        foreach (var loss in input.Events.Where(e => e.Kind is ReplicaEventKind.Killed or ReplicaEventKind.Frozen && input.Audited.Contains(e.At)).OrderBy(e => e.At))
        {
            takeovers.Add(TakeoverAfter(loss, input.Sources, polls, gaps, input.Ownership));
        }

        var down = DownSpans(input.Events);
        var nonOwner = input.Ownership is not { } ownership
            ? []
            : input.Polls.Where(p => input.Audited.Contains(p.Ts) && ownership.OwnerOf(p.Source, p.ScheduledTs) != p.Node).ToList();
        // A poll Quartz held through a pause, started when the source's shard was another replica's: both may hit the
        // target at once. A poll late on a busy machine, or whose replica still owned the shard, is not one.
        var stale = input.Ownership is not { } owning
            ? []
            : input.Polls.Where(p => input.Audited.Contains(p.Ts) && sources.TryGetValue(p.Source, out var s)
                && p.Ts - p.ScheduledTs > (long)ScheduleRegistrar.MissedAfter(TimeSpan.FromMilliseconds(s.EveryMs)).TotalMilliseconds
                && owning.OwnerOf(p.Source, p.Ts) != p.Node).ToList();

        var missed = new List<Miss>();
        var excused = new List<Miss>();
        long audited = 0;
        foreach (var source in input.Sources)
        {
            var stored = polls.GetValueOrDefault(source.Id)?.Select(p => GridTick(source, p.ScheduledTs)).ToHashSet() ?? [];
            var seen = hitTicks[source.Id];
            var sourceGaps = gaps.GetValueOrDefault(source.Id) ?? [];
            var first = TickAtOrBefore(source, input.Audited.From);
            for (var t = first < input.Audited.From ? first + source.EveryMs : first; t < input.Audited.To; t += source.EveryMs)
            {
                audited++;
                if (stored.Contains(t) || seen.Contains(t))
                {
                    continue;
                }

                var tick = t;
                if (input.Ownership is { } owners
                    ? owners.OwnerOf(source.Id, tick) is { } owner && down.Any(d => d.Node == owner && tick >= d.Span.From - LostWith(source) && tick < d.Span.To)
                    : sourceGaps.Any(g => tick > g.After && tick < g.Before))
                {
                    excused.Add(new Miss(source.Id, t));
                }
                else
                {
                    missed.Add(new Miss(source.Id, t));
                }
            }
        }

        var (doubles, longestGap, evaluatorLosses) = KpiExport(input);
        return new AuditReport(
            input,
            duplicatePolls,
            [.. duplicateHits.OrderBy(d => d.Tick)],
            lateHits,
            offGrid,
            nonOwner,
            stale,
            audited,
            [.. missed.OrderBy(m => m.Tick)],
            excused,
            takeovers,
            Rejoins(input, goals.Share),
            doubles,
            longestGap,
            evaluatorLosses,
            CalmOwnerChanges(input, polls));
    }

    /// <summary>
    /// Counts the target's hits per tick. A hit that arrived just after a stored poll of the source started is that
    /// poll's and counts for its tick, however late the poll ran. Any other hit (a poll that was never stored, such as
    /// a killed replica's last ones, or one that should not have happened) counts for the source's latest tick at or
    /// before its arrival (a little early allowed for timer slack); when it lands on a tick already counted and the tick before
    /// has none, the later is counted for that one (a poll a whole interval late, not a duplicate).
    /// </summary>
    private static (Dictionary<long, int> Ticks, List<Duplicate> Duplicates, int Late) AttributeHits(AuditedSource source, List<TargetHit> hits, List<StoredPoll> polls)
    {
        var early = Early(source);
        var pairing = Math.Min(source.EveryMs / 2, 2000);
        var ticks = new Dictionary<long, int>();
        var unpaired = new List<TargetHit>();
        var h = 0;
        foreach (var poll in polls.OrderBy(p => p.Ts))
        {
            while (h < hits.Count && hits[h].At < poll.Ts - early)
            {
                unpaired.Add(hits[h++]);
            }

            if (h < hits.Count && hits[h].At <= poll.Ts + pairing)
            {
                var tick = GridTick(source, poll.ScheduledTs);
                ticks[tick] = ticks.GetValueOrDefault(tick) + 1;
                h++;
            }
        }

        unpaired.AddRange(hits.Skip(h));
        var late = 0;
        foreach (var hit in unpaired)
        {
            var tick = TickAtOrBefore(source, hit.At + early);
            var before = tick - source.EveryMs;
            if (ticks.ContainsKey(tick) && !ticks.ContainsKey(before))
            {
                ticks[before] = 1;
                late++;
            }
            else
            {
                ticks[tick] = ticks.GetValueOrDefault(tick) + 1;
            }
        }

        return (ticks, [.. ticks.Where(t => t.Value > 1).Select(t => new Duplicate(source.Id, t.Key, t.Value))], late);
    }

    /// <summary>
    /// The sources the lost replica held (its shard windows at the loss, by the cluster's record; without one, the
    /// sources whose last stored poll before the loss was its), and per source the time to the next stored poll by
    /// anyone (the lost replica cannot poll before it is back). Without the record, the ticks in between are the
    /// source's takeover gap; with it, a missed tick is excused only when its window's owner was down at the tick (or went
    /// down within <see cref="LostWith"/> after it).
    /// </summary>
    private static Takeover TakeoverAfter(ReplicaEvent loss, IReadOnlyList<AuditedSource> sources, Dictionary<string, List<StoredPoll>> polls, Dictionary<string, List<(long After, long Before)>> gaps, Ownership? ownership)
    {
        var perSource = new List<long>();
        var never = new List<string>();
        foreach (var source in sources)
        {
            var list = polls.GetValueOrDefault(source.Id);
            var last = list?.Where(p => p.Ts <= loss.At).MaxBy(p => p.Ts);
            // With the cluster's record: the sources whose window at the loss was the lost replica's, polled yet or not.
            if (ownership is not null ? ownership.OwnerOf(source.Id, loss.At) != loss.Node : last is null || last.Node != loss.Node)
            {
                continue;
            }

            var next = list!.Where(p => p.Ts > loss.At).MinBy(p => p.Ts);
            if (!gaps.TryGetValue(source.Id, out var sourceGaps))
            {
                gaps[source.Id] = sourceGaps = [];
            }

            sourceGaps.Add((last?.ScheduledTs ?? long.MinValue, next?.ScheduledTs ?? long.MaxValue));
            if (next is null)
            {
                never.Add(source.Id);
            }
            else
            {
                perSource.Add(next.Ts - loss.At);
            }
        }

        return new Takeover(loss, perSource, never);
    }

    /// <summary>
    /// A tick due this little before its owner was killed or frozen, and polled by nobody, went down with it: a poll
    /// may start up to a second after its tick (the misfire threshold) and needs a moment more to reach the target.
    /// </summary>
    private static long LostWith(AuditedSource source) => Math.Min(source.EveryMs, 1000);

    /// <summary>When each replica could not poll: from a SIGKILL or SIGSTOP to its next start or SIGCONT.</summary>
    private static List<(string Node, TimeSpanMs Span)> DownSpans(IReadOnlyList<ReplicaEvent> events)
    {
        var spans = new List<(string, TimeSpanMs)>();
        foreach (var loss in events.Where(e => e.Kind is ReplicaEventKind.Killed or ReplicaEventKind.Frozen))
        {
            var back = events.Where(e => e.Node == loss.Node && e.At > loss.At && e.Kind is ReplicaEventKind.Started or ReplicaEventKind.Thawed).MinBy(e => e.At);
            spans.Add((loss.Node, new TimeSpanMs(loss.At, back?.At ?? long.MaxValue)));
        }

        return spans;
    }

    private static List<Rejoin> Rejoins(AuditInput input, double fraction)
    {
        var share = input.Sources.Count * fraction / input.Replicas;
        var rejoins = new List<Rejoin>();
        foreach (var start in input.Events.Where(e => e.Kind == ReplicaEventKind.Started && input.Audited.Contains(e.At)))
        {
            var after = input.Scrapes.Where(s => s.At >= start.At).OrderBy(s => s.At).ToList();
            double Held(Scrape s) => s.Replicas.TryGetValue(start.Node, out var v) && v.Answered ? v.SourcesHeld ?? 0 : 0;
            var held = after.FirstOrDefault(s => Held(s) >= share);
            rejoins.Add(new Rejoin(start, held?.At - start.At, after.Count == 0 ? 0 : after.Max(Held), share));
        }

        return rejoins;
    }

    private static (List<Scrape> Doubles, long? LongestGap, List<EvaluatorLoss> Losses) KpiExport(AuditInput input)
    {
        var scrapes = input.Scrapes.OrderBy(s => s.At).ToList();
        static int Exporters(Scrape s) => s.Replicas.Values.Count(v => v.Answered && v.ExportsKpis);
        var doubles = scrapes.Where(s => Exporters(s) > 1).ToList();

        var exporting = scrapes.Where(s => input.Audited.Contains(s.At) && Exporters(s) > 0).Select(s => s.At).ToList();
        long? longest = null;
        if (exporting.Count > 0)
        {
            var points = new List<long> { input.Audited.From };
            points.AddRange(exporting);
            points.Add(input.Audited.To);
            longest = points.Zip(points.Skip(1), (a, b) => b - a).Max();
        }

        var losses = new List<EvaluatorLoss>();
        foreach (var loss in input.Events.Where(e => e.Kind is ReplicaEventKind.Killed or ReplicaEventKind.Frozen or ReplicaEventKind.Terminated && input.Audited.Contains(e.At)).OrderBy(e => e.At))
        {
            var before = scrapes.LastOrDefault(s => s.At < loss.At);
            if (before is null || !(before.Replicas.TryGetValue(loss.Node, out var v) && v.Answered && v.ExportsKpis))
            {
                continue;
            }

            // Another replica, or the lost one once it is back: a terminated evaluator still exports while it drains,
            // and that is not the successor this measures.
            var revival = input.Events.Where(e => e.Node == loss.Node && e.At > loss.At && e.Kind is ReplicaEventKind.Started or ReplicaEventKind.Thawed).MinBy(e => e.At);
            var back = scrapes.FirstOrDefault(s => s.At > loss.At && s.Replicas.Any(r =>
                r.Value.Answered && r.Value.ExportsKpis && (r.Key != loss.Node || (revival is not null && s.At >= revival.At))));
            losses.Add(new EvaluatorLoss(loss, back?.At - loss.At));
        }

        return (doubles, longest, losses);
    }

    private static List<OwnerChange> CalmOwnerChanges(AuditInput input, Dictionary<string, List<StoredPoll>> polls)
    {
        var changes = new List<OwnerChange>();
        foreach (var list in polls.Values)
        {
            for (var i = 1; i < list.Count; i++)
            {
                var (a, b) = (list[i - 1], list[i]);
                if (a.Node != b.Node && input.Calm.Any(c => c.Contains(a.ScheduledTs) && c.Contains(b.ScheduledTs)))
                {
                    changes.Add(new OwnerChange(b.Source, a, b));
                }
            }
        }

        return [.. changes.OrderBy(c => c.After.ScheduledTs)];
    }
}
