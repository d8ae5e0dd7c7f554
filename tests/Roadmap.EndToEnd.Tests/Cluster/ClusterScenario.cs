using System.Globalization;

namespace Roadmap.EndToEnd.Tests.Cluster;

/// <summary>
/// The harness's own waits; the cluster runs on its production defaults throughout. <paramref name="Calm"/> is the calm
/// span before the first fault and after the last rejoin, <paramref name="MiddleCalm"/> the wait after each settled
/// fault (0 in CI; the bench stretches both), <paramref name="Freeze"/> how long a replica stays SIGSTOPped.
/// </summary>
internal sealed record ScenarioTimings(TimeSpan Calm, TimeSpan MiddleCalm, TimeSpan Freeze)
{
    /// <summary>The CI run; <c>ROADMAP_CLUSTER_AUDIT_CALM_SECONDS</c> makes every calm span (middle ones too) that long.</summary>
    public static ScenarioTimings FromEnvironment()
    {
        var calm = Environment.GetEnvironmentVariable("ROADMAP_CLUSTER_AUDIT_CALM_SECONDS");
        return calm is { Length: > 0 } && int.TryParse(calm, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? new ScenarioTimings(TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(20))
            : new ScenarioTimings(TimeSpan.FromSeconds(15), TimeSpan.Zero, TimeSpan.FromSeconds(20));
    }
}

/// <summary>The audit of a run, what SQL counted on its own, the database load, and what went wrong with the processes.</summary>
/// <param name="CommitsPerSecond">Transactions committed in the rig's database per second over the audited span.</param>
internal sealed record ScenarioResult(AuditReport Report, long StoredDuplicateTicks, double CommitsPerSecond, IReadOnlyList<string> ProcessFailures, string Output)
{
    public IReadOnlyList<string> Failures(AuditGoals goals) =>
        [.. Report.Failures(goals), .. ProcessFailures, .. StoredDuplicateTicks > 0 ? [$"SQL: {StoredDuplicateTicks} (source, scheduled_ts) groups with more than one row"] : Array.Empty<string>()];

    public string Summary() =>
        Report.Summary() + string.Create(CultureInfo.InvariantCulture, $"  SQL duplicate ticks: {StoredDuplicateTicks}; database load: {CommitsPerSecond:0.0} commits/s\n");
}

/// <summary>The scenarios of the cluster audit, run the same way on the JIT build, the native build and in the bench.</summary>
internal static class ClusterScenario
{
    private static readonly TimeSpan StartPatience = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan SettlePatience = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopPatience = TimeSpan.FromSeconds(60);

    // Two of settings.cluster.window's default: after a rejoin the shards move at window boundaries.
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);

    private static readonly string[] Nodes = ["a", "b", "c"];

    /// <summary>
    /// Three replicas: warm up and stay calm; SIGKILL the busiest and restart it once its sources are taken over; SIGSTOP
    /// another (the evaluator when it can) for the freeze; SIGTERM the third and restart it; calm again; stop all.
    /// </summary>
    public static async Task<ScenarioResult> FailoverAsync(ClusterRig rig, ScenarioTimings timings, Action<string> log)
    {
        var failures = new List<string>();
        var sources = rig.Sources.Count;
        var share = sources * AuditGoals.Issue.Share / Nodes.Length;
        var calm = new List<TimeSpanMs>();
        var t0 = rig.Now;
        void Log(string line) => log(string.Create(CultureInfo.InvariantCulture, $"[{(rig.Now - t0) / 1000.0,6:0.0} s] {line}"));
        async Task Settle(string what, Func<Scrape, bool> condition)
        {
            if (!await rig.WaitForScrapeAsync(condition, SettlePatience))
            {
                Log($"not settled within {SettlePatience.TotalSeconds} s: {what}; last scrape {Describe(rig.LatestScrape)}");
            }
            else
            {
                Log($"settled: {what}; {Describe(rig.LatestScrape)}");
            }

            CheckAlive(rig, failures);
        }

        async Task MiddleCalm()
        {
            if (timings.MiddleCalm > Window)
            {
                await Task.Delay(Window);
                var from = rig.Now;
                await Task.Delay(timings.MiddleCalm - Window);
                calm.Add(new TimeSpanMs(from, rig.Now));
            }
        }

        foreach (var node in Nodes)
        {
            rig.Start(node);
        }

        foreach (var node in Nodes)
        {
            if (!await rig.WaitReadyAsync(node, StartPatience))
            {
                throw new InvalidOperationException($"replica {node} not ready within {StartPatience.TotalSeconds} s\n{rig.Output()}");
            }
        }

        if (!await rig.WaitForScrapeAsync(s => AllHeld(s, Nodes, sources) && Nodes.All(n => Held(s, n) > 0) && Exporters(s) > 0, StartPatience))
        {
            throw new InvalidOperationException($"the three replicas never shared the {sources} sources with a KPI exporter; last scrape {Describe(rig.LatestScrape)}\n{rig.Output()}");
        }

        var running = await SchedulesRunningAsync(rig);
        var audited = rig.Now;
        var commits = await rig.CommitsAsync();
        Log($"warm: {Describe(rig.LatestScrape)}; every source polled twice {running / 1000.0:0.0} s after");
        await Task.Delay(timings.Calm);
        calm.Add(new TimeSpanMs(audited, rig.Now));
        CheckAlive(rig, failures);

        // The busiest replica dies without a word; once the others hold all its sources it comes back with its id.
        var busiest = Nodes.MaxBy(n => Held(rig.LatestScrape!, n))!;
        var others = Nodes.Where(n => n != busiest).ToArray();
        Log($"SIGKILL {busiest}");
        await rig.KillAsync(busiest);
        await Settle($"{string.Join('+', others)} hold every source", s => AllHeld(s, others, sources));
        Log($"restart {busiest}");
        rig.Start(busiest);
        await Settle($"{busiest} holds its share", s => Held(s, busiest) >= share && AllHeld(s, Nodes, sources));
        await MiddleCalm();

        // Another replica freezes (the evaluator, when it is one of the two, so its KPI gap is measured), then thaws.
        var evaluator = rig.LatestScrape!.Replicas.Where(r => r.Value.ExportsKpis).Select(r => r.Key).FirstOrDefault();
        var frozen = evaluator is not null && others.Contains(evaluator) ? evaluator : others.MaxBy(n => Held(rig.LatestScrape!, n))!;
        Log($"SIGSTOP {frozen} (evaluator: {evaluator ?? "none"})");
        rig.Freeze(frozen);
        await Task.Delay(timings.Freeze);
        Log($"SIGCONT {frozen}");
        rig.Thaw(frozen);
        await Settle($"{frozen} answers and every source is held", s => s.Replicas.Values.All(v => v.Answered) && AllHeld(s, Nodes, sources));
        await MiddleCalm();

        // The third stops gracefully (hands over, drains) and starts again.
        var third = others.Single(n => n != frozen);
        Log($"SIGTERM {third}");
        var code = await rig.TerminateAsync(third, StopPatience);
        Log($"{third} exited {code?.ToString(CultureInfo.InvariantCulture) ?? "not"}");
        if (code != 0)
        {
            failures.Add($"replica {third} after SIGTERM: exit {code?.ToString(CultureInfo.InvariantCulture) ?? $"none within {StopPatience.TotalSeconds} s"}");
        }

        rig.Start(third);
        await Settle($"{third} holds its share", s => Held(s, third) >= share && AllHeld(s, Nodes, sources));

        await Task.Delay(Window);
        var lastCalm = rig.Now;
        await Task.Delay(timings.Calm);
        calm.Add(new TimeSpanMs(lastCalm, rig.Now));
        return await FinishAsync(rig, cluster: true, Nodes, audited, commits, calm, failures, Log);
    }

    /// <summary>One replica, no fault: every tick of <paramref name="span"/> polled once on the grid, with the KPIs exported.</summary>
    public static async Task<ScenarioResult> SingleAsync(ClusterRig rig, TimeSpan span, Action<string> log)
    {
        var t0 = rig.Now;
        void Log(string line) => log(string.Create(CultureInfo.InvariantCulture, $"[{(rig.Now - t0) / 1000.0,6:0.0} s] {line}"));
        string[] nodes = ["a"];
        rig.Start("a");
        if (!await rig.WaitReadyAsync("a", StartPatience) || !await rig.WaitForScrapeAsync(s => Exporters(s) > 0, StartPatience))
        {
            throw new InvalidOperationException($"the replica was not ready and exporting KPIs within {StartPatience.TotalSeconds} s\n{rig.Output()}");
        }

        var running = await SchedulesRunningAsync(rig);
        var audited = rig.Now;
        var commits = await rig.CommitsAsync();
        Log($"warm; every source polled twice {running / 1000.0:0.0} s after");
        await Task.Delay(span);
        var failures = new List<string>();
        CheckAlive(rig, failures);
        return await FinishAsync(rig, cluster: false, nodes, audited, commits, [new TimeSpanMs(audited, rig.Now)], failures, Log);
    }

    private static async Task<ScenarioResult> FinishAsync(ClusterRig rig, bool cluster, string[] nodes, long audited, long commitsBefore, List<TimeSpanMs> calm, List<string> failures, Action<string> log)
    {
        // Ticks just before the final stop are left out: the replicas stop together and none is left to hand over to.
        var end = rig.Now - 1000;
        var commits = await rig.CommitsAsync() - commitsBefore;
        log("stopping all");
        var running = nodes.Where(rig.IsRunning).ToArray();
        var codes = await Task.WhenAll(running.Select(n => rig.TerminateAsync(n, StopPatience)));
        foreach (var (node, code) in running.Zip(codes).Where(x => x.Second != 0))
        {
            failures.Add($"replica {node} at the end, after SIGTERM: exit {code?.ToString(CultureInfo.InvariantCulture) ?? $"none within {StopPatience.TotalSeconds} s"}");
        }

        var input = new AuditInput(
            rig.Sources,
            await rig.ReadPollsAsync(),
            rig.Hits(),
            rig.Events,
            rig.Scrapes,
            new TimeSpanMs(audited, end),
            calm,
            nodes.Length,
            cluster ? await rig.ReadOwnershipAsync() : null);
        var report = ClusterAudit.Run(input, AuditGoals.Issue);
        return new ScenarioResult(report, await rig.StoredDuplicateTicksAsync(), commits / ((end + 1000 - audited) / 1000.0), failures, rig.Output());
    }

    /// <summary>A replica that exited without being told to is a failure (a crash under failover is what this hunts).</summary>
    private static void CheckAlive(ClusterRig rig, List<string> failures)
    {
        var told = rig.Events.GroupBy(e => e.Node).Where(g => g.MaxBy(e => e.At)!.Kind is ReplicaEventKind.Killed or ReplicaEventKind.Terminated).Select(g => g.Key).ToHashSet();
        foreach (var node in rig.Events.Select(e => e.Node).Distinct().Where(n => !told.Contains(n) && !rig.IsRunning(n)))
        {
            var line = $"replica {node} exited on its own";
            if (!failures.Contains(line))
            {
                failures.Add(line);
            }
        }
    }

    private static double Held(Scrape s, string node) => s.Replicas.TryGetValue(node, out var v) && v.Answered ? v.SourcesHeld ?? 0 : 0;

    private static bool AllHeld(Scrape s, IEnumerable<string> nodes, int sources) => nodes.Sum(n => Held(s, n)) >= sources;

    /// <summary>
    /// Waits until the target has seen every source polled twice since now: each source's schedule runs. The audit then
    /// judges running replicas, not the seconds of their start, when readiness and the first KPIs can come before the
    /// last sources' first ticks (CI runs now and then missed ticks in the audit's first second, at "+0.0s"). Returns
    /// the milliseconds it waited.
    /// </summary>
    private static async Task<long> SchedulesRunningAsync(ClusterRig rig)
    {
        var since = rig.Now;
        var until = since + (long)StartPatience.TotalMilliseconds;
        while (true)
        {
            var running = rig.Hits().Where(h => h.At >= since).CountBy(h => h.Source).Count(c => c.Value >= 2);
            if (running == rig.Sources.Count)
            {
                return rig.Now - since;
            }

            if (rig.Now > until)
            {
                throw new InvalidOperationException($"{running} of {rig.Sources.Count} sources polled twice within {StartPatience.TotalSeconds} s of the start\n{rig.Output()}");
            }

            await Task.Delay(100);
        }
    }

    private static int Exporters(Scrape s) => s.Replicas.Values.Count(v => v.Answered && v.ExportsKpis);

    private static string Describe(Scrape? s) =>
        s is null
            ? "none"
            : string.Join(", ", s.Replicas.OrderBy(r => r.Key).Select(r =>
                r.Value.Answered ? $"{r.Key}: held {r.Value.SourcesHeld?.ToString(CultureInfo.InvariantCulture) ?? "-"}{(r.Value.ExportsKpis ? ", KPIs" : "")}" : $"{r.Key}: no answer"));
}
