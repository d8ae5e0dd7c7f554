using Roadmap.Worker.Cluster;

namespace Roadmap.EndToEnd.Tests.Cluster;

/// <summary>
/// The audit on made-up runs, so that each of its goals is seen to fail when broken (and a clean run to pass):
/// two replicas "a" (s000, s001) and "b" (s002, s003), every source every second, a minute audited.
/// </summary>
public sealed class ClusterAuditTests
{
    private const long Every = 1000;
    private const long From = 1_800_000_000_000;
    private const long To = From + 60_000;
    private const long Late = 5;
    private const long Transit = 2;

    private static readonly AuditedSource[] Sources = [.. new[] { "s000", "s001", "s002", "s003" }.Select(id => new AuditedSource(id, Every))];

    private static string HomeOf(string source) => source is "s000" or "s001" ? "a" : "b";

    /// <summary>A poll of every tick from 5 s before the audited span to its end, by <paramref name="owner"/> (null: none).</summary>
    private static List<StoredPoll> Polls(Func<string, long, string?>? owner = null)
    {
        var polls = new List<StoredPoll>();
        foreach (var s in Sources)
        {
            for (var t = ClusterAudit.TickAtOrBefore(s, From - 5_000); t < To; t += Every)
            {
                if ((owner ?? ((id, _) => HomeOf(id)))(s.Id, t) is { } node)
                {
                    polls.Add(new StoredPoll(s.Id, t, node, t + Late));
                }
            }
        }

        return polls;
    }

    private static List<TargetHit> HitsOf(IEnumerable<StoredPoll> polls) => [.. polls.Select(p => new TargetHit(p.Source, p.Ts + Transit))];

    /// <summary>A scrape each second; <paramref name="view"/> says who answers (default: a exports the KPIs, each holds two sources).</summary>
    private static List<Scrape> Scrapes(Func<long, string, ReplicaView?>? view = null)
    {
        view ??= (_, node) => new ReplicaView(true, node == "a", 2);
        var scrapes = new List<Scrape>();
        for (var t = From - 5_000; t < To; t += 1000)
        {
            var replicas = new Dictionary<string, ReplicaView>();
            foreach (var node in new[] { "a", "b" })
            {
                if (view(t, node) is { } v)
                {
                    replicas[node] = v;
                }
            }

            scrapes.Add(new Scrape(t, replicas));
        }

        return scrapes;
    }

    private static AuditReport Audit(
        List<StoredPoll>? polls = null,
        List<TargetHit>? hits = null,
        List<ReplicaEvent>? events = null,
        List<Scrape>? scrapes = null,
        List<TimeSpanMs>? calm = null,
        Ownership? ownership = null)
    {
        polls ??= Polls();
        return ClusterAudit.Run(
            new AuditInput(Sources, polls, hits ?? HitsOf(polls), events ?? [], scrapes ?? Scrapes(), new TimeSpanMs(From, To), calm ?? [new TimeSpanMs(From, To)], 2, ownership),
            AuditGoals.Issue);
    }

    /// <summary>The cluster's record: each source's windows (5 s) from a minute before to the end, owned as <paramref name="owner"/> says.</summary>
    private static Ownership Owners(Func<string, long, string> owner)
    {
        const int shards = 128;
        const long window = 5_000;
        Assert.Equal(Sources.Length, Sources.Select(s => ClusterShards.Of(s.Id, shards)).Distinct().Count());
        var owners = new Dictionary<(int, long), string>();
        foreach (var s in Sources)
        {
            for (var w = From - 60_000; w < To; w += window)
            {
                owners[(ClusterShards.Of(s.Id, shards), w)] = owner(s.Id, w);
            }
        }

        return new Ownership(owners, shards, window);
    }

    private static long TickOf(string source, long near) => ClusterAudit.TickAtOrBefore(Sources.Single(s => s.Id == source), near);

    [Fact]
    public void Run_EveryTickPolledOnceByItsReplica_MeetsEveryGoal()
    {
        var report = Audit();

        Assert.Empty(report.Failures(AuditGoals.Issue));
        Assert.Equal(240, report.AuditedTicks);
        Assert.Empty(report.Missed);
        Assert.Empty(report.DuplicatePolls);
        Assert.Empty(report.DuplicateHits);
        Assert.Equal(1000, report.LongestKpiGapMs);
        Assert.Contains("missed ticks: 0", report.Summary(), StringComparison.Ordinal);
    }

    [Fact]
    public void Run_TickPolledByTwoReplicas_IsADuplicateStoredAndAtTheTarget()
    {
        var polls = Polls();
        var tick = TickOf("s000", From + 10_000);
        polls.Add(new StoredPoll("s000", tick, "b", tick + Late + 3));

        var report = Audit(polls);

        Assert.Equal(new Duplicate("s000", tick, 2), Assert.Single(report.DuplicatePolls));
        Assert.Equal(new Duplicate("s000", tick, 2), Assert.Single(report.DuplicateHits));
        Assert.Contains(report.Failures(AuditGoals.Issue), f => f.Contains("stored more than once", StringComparison.Ordinal));
        var atTarget = Assert.Single(report.Failures(AuditGoals.Issue), f => f.Contains("at the target", StringComparison.Ordinal));
        // The line shows what the audit paired: both replicas' stored polls of the tick, and the hits around it.
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(atTarget, $@"tick {System.Text.RegularExpressions.Regex.Escape(Rel(tick))} started [+-][0-9.]+s by "));
        Assert.Contains($"started {Rel(tick + Late + 3)} by b", atTarget, StringComparison.Ordinal);
        Assert.Contains("hits at [", atTarget, StringComparison.Ordinal);
    }

    private static string Rel(long t) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{(t - From) / 1000.0:+0.000;-0.000}s");

    [Fact]
    public void Run_PollLostBeforeStorageButSeenAtTheTarget_IsNoMissAndASecondHitIsADuplicate()
    {
        var polls = Polls();
        var tick = TickOf("s002", From + 20_000);
        var hits = HitsOf(polls);
        polls.RemoveAll(p => p.Source == "s002" && p.ScheduledTs == tick);
        hits.Add(new TargetHit("s002", tick + 40));

        var report = Audit(polls, hits);

        Assert.Empty(report.Missed);
        Assert.Empty(report.DuplicatePolls);
        Assert.Equal(new Duplicate("s002", tick, 2), Assert.Single(report.DuplicateHits));
    }

    [Fact]
    public void Run_HitAWholeIntervalLate_CountsForItsOwnTickNotAsADuplicate()
    {
        var polls = Polls();
        var tick = TickOf("s001", From + 30_000);
        var hits = HitsOf(polls.Where(p => !(p.Source == "s001" && p.ScheduledTs == tick)));
        hits.Add(new TargetHit("s001", tick + Every + 150));

        var report = Audit(polls.Where(p => !(p.Source == "s001" && p.ScheduledTs == tick)).ToList(), hits);

        Assert.Empty(report.DuplicateHits);
        Assert.Equal(1, report.LateHits);
        Assert.Empty(report.Missed);
    }

    [Fact]
    public void Run_StoredPollsRunningSecondsLate_EachHitCountsForItsOwnTick()
    {
        // A replica thawed after a freeze runs the polls it had due at once: three ticks polled 3 s late, together.
        var tick = TickOf("s000", From + 30_000);
        var polls = Polls().Select(p => p.Source == "s000" && p.ScheduledTs >= tick && p.ScheduledTs < tick + 3_000 ? p with { Ts = tick + 3_000 + Late } : p).ToList();

        var report = Audit(polls);

        Assert.Empty(report.DuplicateHits);
        Assert.Equal(0, report.LateHits);
        Assert.Empty(report.Failures(AuditGoals.Issue));
    }

    [Fact]
    public void Run_TickPolledByNobodyWhileItsReplicaLives_IsAMissEvenAroundAGracefulStop()
    {
        var tick = TickOf("s003", From + 40_000);
        var polls = Polls((id, t) => id == "s003" && t == tick ? null : HomeOf(id));

        var report = Audit(polls, events: [new ReplicaEvent(tick - 500, "b", ReplicaEventKind.Terminated)]);

        Assert.Equal(new Miss("s003", tick), Assert.Single(report.Missed));
        Assert.Empty(report.Excused);
        Assert.Contains(report.Failures(AuditGoals.Issue), f => f.Contains("1 ticks missed", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_KilledReplicasSourcesTakenOverInTime_GapExcusedAndTakeoverMeasuredFromTheKill()
    {
        const long kill = From + 20_300;
        // s000 back after 10 s, s001 after 12 s, both on b; a's polls up to the kill.
        var polls = Polls((id, t) => HomeOf(id) == "b" ? "b" : t < kill ? "a" : t >= kill + (id == "s000" ? 10_000 : 12_000) ? "b" : null);
        var scrapes = Scrapes((t, node) => node == "a" && t >= kill ? null : new ReplicaView(true, node == "b", 2));

        var report = Audit(polls, events: [new ReplicaEvent(kill, "a", ReplicaEventKind.Killed)], scrapes: scrapes, calm: [new TimeSpanMs(From, kill)]);

        Assert.Empty(report.Failures(AuditGoals.Issue));
        // Each source's first poll by b is its first tick at least 10 s (12 s) after the kill, whatever its offset.
        var takeover = Assert.Single(report.Takeovers);
        Assert.Equal(2, takeover.PerSourceMs.Count);
        Assert.InRange(takeover.PerSourceMs[0], 10_000 + Late, 11_000 + Late);
        Assert.InRange(takeover.PerSourceMs[1], 12_000 + Late, 13_000 + Late);
        Assert.Equal(takeover.PerSourceMs.Max(), takeover.MaxMs);
        Assert.Empty(report.Missed);
        Assert.Equal(10 + 12, report.Excused.Count);
    }

    [Fact]
    public void Run_TakeoverSlowerThanTheGoalOrNever_Fails()
    {
        const long kill = From + 10_300;
        var polls = Polls((id, t) => HomeOf(id) == "b" ? "b" : t < kill ? "a" : id == "s000" && t >= kill + 30_000 ? "b" : null);

        var report = Audit(polls, events: [new ReplicaEvent(kill, "a", ReplicaEventKind.Killed)], calm: []);

        var takeover = Assert.Single(report.Takeovers);
        Assert.Equal(["s001"], takeover.Never);
        Assert.InRange(takeover.MaxMs!.Value, 30_000 + Late, 31_000 + Late);
        Assert.Contains(report.Failures(AuditGoals.Issue), f => f.Contains(" s > 25 s", StringComparison.Ordinal));
        Assert.Contains(report.Failures(AuditGoals.Issue), f => f.Contains("never polled again", StringComparison.Ordinal));
        Assert.Empty(report.Missed);
    }

    [Fact]
    public void Run_FrozenReplicaResumingItsOwnSources_TakeoverIsTheWholeFreeze()
    {
        const long freeze = From + 10_300;
        var polls = Polls((id, t) => HomeOf(id) == "a" && t >= freeze && t < freeze + 20_000 ? null : HomeOf(id));

        var report = Audit(polls, events: [new ReplicaEvent(freeze, "a", ReplicaEventKind.Frozen), new ReplicaEvent(freeze + 20_000, "a", ReplicaEventKind.Thawed)], calm: []);

        Assert.InRange(Assert.Single(report.Takeovers).MedianMs!.Value, 20_000 + Late, 21_000 + Late);
        Assert.Contains(report.Failures(AuditGoals.Issue), f => f.Contains(" s > 15 s", StringComparison.Ordinal));
        Assert.Empty(report.Missed);
    }

    [Fact]
    public void Run_WindowPassedToTheFrozenReplicaAsItFroze_ExcusedAndTakenOverByTheClustersRecordOnly()
    {
        // s002 moves to a with the window that opens as a freezes; b takes it back after 10 s, a's own after 20 s.
        const long freeze = From + 20_000;
        static bool Frozen(long t, long length) => t >= freeze && t < freeze + length;
        var owners = Owners((id, w) => id == "s002" && Frozen(w, 10_000) ? "a" : HomeOf(id));
        var polls = Polls((id, t) => HomeOf(id) == "a" ? (Frozen(t, 20_000) ? null : "a") : id == "s002" && Frozen(t, 10_000) ? null : "b");
        List<ReplicaEvent> events = [new(freeze, "a", ReplicaEventKind.Frozen), new(freeze + 20_000, "a", ReplicaEventKind.Thawed)];

        var withRecord = Audit(polls, events: events, calm: [], ownership: owners);
        var withoutRecord = Audit(polls, events: events, calm: []);

        Assert.Empty(withRecord.Missed);
        Assert.Empty(withRecord.NonOwnerPolls);
        Assert.Equal(20 + 20 + 10, withRecord.Excused.Count);
        var takeover = Assert.Single(withRecord.Takeovers);
        Assert.Equal(3, takeover.PerSourceMs.Count);
        Assert.Equal(10, withoutRecord.Missed.Count(m => m.Source == "s002"));
    }

    [Fact]
    public void Run_TickOfALiveOwnerNotPolledWhileAnotherIsFrozen_IsAMiss()
    {
        const long freeze = From + 20_000;
        var tick = TickOf("s003", freeze + 3_000);
        var polls = Polls((id, t) => HomeOf(id) == "a" ? (t >= freeze && t < freeze + 10_000 ? null : "a") : id == "s003" && t == tick ? null : "b");

        var report = Audit(polls, events: [new(freeze, "a", ReplicaEventKind.Frozen), new(freeze + 10_000, "a", ReplicaEventKind.Thawed)], calm: [], ownership: Owners((id, _) => HomeOf(id)));

        Assert.Equal(new Miss("s003", tick), Assert.Single(report.Missed));
        Assert.Equal(20, report.Excused.Count);
    }

    [Fact]
    public void Run_TickDueJustBeforeItsOwnerWasKilled_WentDownWithItButOneDueEarlierIsAMiss()
    {
        // a is killed 50 ms after a tick of s000, before it polled it; a tick of s001 two seconds earlier was skipped.
        var kill = TickOf("s000", From + 20_000) + 50;
        var skipped = TickOf("s001", kill - 2_000);
        var handover = ClusterShards.WindowStart(kill + 8_000, 5_000);
        var polls = Polls((id, t) => HomeOf(id) == "b" ? "b" : t < kill - 50 && !(id == "s001" && t == skipped) ? "a" : t >= handover ? "b" : null);

        var report = Audit(polls, events: [new(kill, "a", ReplicaEventKind.Killed)], calm: [], ownership: Owners((id, w) => HomeOf(id) == "a" && w >= handover ? "b" : HomeOf(id)));

        Assert.Equal(new Miss("s001", skipped), Assert.Single(report.Missed));
        Assert.Contains(new Miss("s000", kill - 50), report.Excused);
    }

    [Fact]
    public void Run_PollByAReplicaThatDidNotOwnTheWindow_Fails()
    {
        var tick = TickOf("s000", From + 12_000);
        var polls = Polls((id, t) => id == "s000" && t == tick ? "b" : HomeOf(id));

        var report = Audit(polls, calm: [], ownership: Owners((id, _) => HomeOf(id)));

        Assert.Equal(("s000", tick, "b"), (Assert.Single(report.NonOwnerPolls).Source, report.NonOwnerPolls[0].ScheduledTs, report.NonOwnerPolls[0].Node));
        Assert.Contains(report.Failures(AuditGoals.Issue), f => f.Contains("did not own", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_PollHeldThroughAFreezeStartedAfterTheTakeover_IsStaleButOneMerelyLateIsNot()
    {
        // a freezes just after a tick of s000 (its shard passes to b at the next window) and polls that tick on thawing,
        // 20 s late, while b polls the source; a tick of s001 (a's too) is polled 900 ms late across the same handover.
        const long freeze = From + 20_000;
        var handover = ClusterShards.WindowStart(freeze, 5_000) + 5_000;
        var held = TickOf("s000", freeze);
        var late = TickOf("s001", handover - 1);
        var polls = Polls((id, t) => HomeOf(id) == "b" ? "b" : t >= handover ? "b" : t <= held || t < freeze ? "a" : null);
        polls = [.. polls.Select(p => p.Source == "s000" && p.ScheduledTs == held ? p with { Ts = freeze + 20_000 } : p.Source == "s001" && p.ScheduledTs == late ? p with { Ts = late + 900 } : p)];

        var report = Audit(polls, events: [new(freeze, "a", ReplicaEventKind.Frozen), new(freeze + 20_000, "a", ReplicaEventKind.Thawed)], calm: [], ownership: Owners((id, w) => HomeOf(id) == "a" && w >= handover ? "b" : HomeOf(id)));

        Assert.Equal(("s000", held, "a"), (Assert.Single(report.StalePolls).Source, report.StalePolls[0].ScheduledTs, report.StalePolls[0].Node));
        Assert.Contains(report.Failures(AuditGoals.Issue), f => f.Contains("no longer owned the source", StringComparison.Ordinal));
        Assert.Empty(report.NonOwnerPolls);
    }

    [Fact]
    public void Run_PollStoredOffTheTickGrid_Fails()
    {
        var polls = Polls();
        var tick = TickOf("s000", From + 5_000);
        polls.RemoveAll(p => p.Source == "s000" && p.ScheduledTs == tick);
        polls.Add(new StoredPoll("s000", tick + 1, "a", tick + Late));

        var report = Audit(polls);

        Assert.Equal(tick + 1, Assert.Single(report.OffGridPolls).ScheduledTs);
        Assert.Contains(report.Failures(AuditGoals.Issue), f => f.Contains("off the source's tick grid", StringComparison.Ordinal));
        Assert.Empty(report.Missed);
    }

    [Fact]
    public void Run_PollOffTheGridBesideTheTicksOwnPoll_IsADuplicateAtTheTargetThoughSqlSeesTwoTicks()
    {
        // A replica whose timer runs 60 ms off the grid polls the tick another replica polls on it.
        var polls = Polls();
        var tick = TickOf("s002", From + 15_000);
        polls.Add(new StoredPoll("s002", tick + 60, "a", tick + 60 + Late));

        var report = Audit(polls);

        Assert.Empty(report.DuplicatePolls);
        Assert.Equal(new Duplicate("s002", tick, 2), Assert.Single(report.DuplicateHits));
    }

    [Fact]
    public void Run_TwoReplicasExportKpisAtOneScrape_Fails()
    {
        var scrapes = Scrapes((t, node) => new ReplicaView(true, node == "a" || t == From + 7_000, 2));

        var report = Audit(scrapes: scrapes);

        Assert.Equal(From + 7_000, Assert.Single(report.DoubleExporters).At);
        Assert.Contains(report.Failures(AuditGoals.Issue), f => f.Contains("more than one replica exporting", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_KpisBackLongAfterTheEvaluatorDied_FailsTheKpiGap()
    {
        const long kill = From + 5_500;
        var polls = Polls((id, t) => HomeOf(id) == "b" || t < kill + 5_000 ? (HomeOf(id) == "b" || t < kill ? HomeOf(id) : null) : "b");
        var scrapes = Scrapes((t, node) => node == "a" ? (t < kill ? new ReplicaView(true, true, 2) : null) : new ReplicaView(true, t > kill + 50_000, 4));

        var report = Audit(polls, events: [new ReplicaEvent(kill, "a", ReplicaEventKind.Killed)], scrapes: scrapes, calm: []);

        Assert.Equal(50_500, Assert.Single(report.EvaluatorLosses).GapMs);
        Assert.Equal(51_000, report.LongestKpiGapMs);
        Assert.Contains(report.Failures(AuditGoals.Issue), f => f.Contains("(the evaluator) KPI series came back after 50.5 s", StringComparison.Ordinal));
        Assert.Contains(report.Failures(AuditGoals.Issue), f => f.Contains("KPI series absent for 51.0 s", StringComparison.Ordinal));
    }

    [Fact]
    public void Run_SourceMovesToAnotherReplica_IsAFalseFailoverOnlyInACalmSpan()
    {
        var move = TickOf("s002", From + 30_000);
        var polls = Polls((id, t) => id == "s002" && t >= move ? "a" : HomeOf(id));

        var calm = Audit(polls);
        var busy = Audit(polls, calm: [new TimeSpanMs(From, move - 5_000), new TimeSpanMs(move + 5_000, To)]);

        var change = Assert.Single(calm.CalmOwnerChanges);
        Assert.Equal(("b", "a", move), (change.Before.Node, change.After.Node, change.After.ScheduledTs));
        Assert.Contains(calm.Failures(AuditGoals.Issue), f => f.Contains("false failover", StringComparison.Ordinal));
        Assert.Empty(busy.CalmOwnerChanges);
        Assert.Empty(busy.Failures(AuditGoals.Issue));
    }

    [Fact]
    public void Run_RestartedReplicaHoldsItsShareLateOrNever_Fails()
    {
        const long start = From + 10_000;
        ReplicaView? Held(long t, string node, long after) => new(true, node == "a", node == "a" ? 4 : t >= start + after ? 2 : 0);
        ReplicaEvent[] restart = [new ReplicaEvent(start, "b", ReplicaEventKind.Started)];

        var inTime = Audit(events: [.. restart], scrapes: Scrapes((t, n) => Held(t, n, 20_000)));
        var late = Audit(events: [.. restart], scrapes: Scrapes((t, n) => Held(t, n, 46_000)));
        var never = Audit(events: [.. restart], scrapes: Scrapes((t, n) => Held(t, n, long.MaxValue / 2)));

        Assert.Equal(20_000, Assert.Single(inTime.Rejoins).HeldShareAfterMs);
        Assert.Empty(inTime.Failures(AuditGoals.Issue));
        Assert.Equal(46_000, Assert.Single(late.Rejoins).HeldShareAfterMs);
        Assert.Contains(late.Failures(AuditGoals.Issue), f => f.Contains("only after 46.0 s", StringComparison.Ordinal));
        Assert.Null(Assert.Single(never.Rejoins).HeldShareAfterMs);
        Assert.Contains(never.Failures(AuditGoals.Issue), f => f.Contains("only after never", StringComparison.Ordinal));
    }
}
