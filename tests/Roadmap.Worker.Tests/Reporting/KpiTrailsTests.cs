using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Tests.Reporting;

public sealed class KpiTrailsTests : IDisposable
{
    private static readonly DateTimeOffset Now = ReportFixture.Now;
    private readonly ReportFixture _f = new();

    public void Dispose() => _f.Dispose();

    private static KpiEvaluation At(string initiative, string kpi, DateTimeOffset at, double value) =>
        new(initiative, kpi, at, value, 0.05, false, KpiStatus.AtRisk, null, 1, "test");

    [Fact]
    public void Read_Twice_SecondReadAddsWhatWasStoredSinceAndDropsWhatLeftTheWindow()
    {
        var store = RoadmapDatabase.Open(_f.DatabasePath).Evaluations;
        var trails = new KpiTrails(store);
        // query-time's window is 1h: a row 2 h old is outside, the others inside.
        store.Append([At("db-perf", "query-time", Now.AddHours(-2), 9), At("db-perf", "query-time", Now.AddMinutes(-30), 1)]);

        var first = trails.Read(_f.Config, Now)[("db-perf", "query-time")];
        store.Append([At("db-perf", "query-time", Now.AddMinutes(5), 2)]);
        var second = trails.Read(_f.Config, Now.AddMinutes(40))[("db-perf", "query-time")];

        Assert.Equal([1.0], first.Points.Select(p => p.Value!.Value));
        Assert.Equal((Now.AddHours(-1), Now), (first.From, first.To));
        // 40 min later the 30-min-old point has left the hour.
        Assert.Equal([2.0], second.Points.Select(p => p.Value!.Value));
    }

    [Fact]
    public void Read_ManyEvaluations_KeepsAtMostMaxPointsEndingWithTheNewest()
    {
        var store = RoadmapDatabase.Open(_f.DatabasePath).Evaluations;
        store.Append(Enumerable.Range(0, 3600).Select(s => At("db-perf", "query-time", Now.AddSeconds(-s), s)).ToList());

        var trail = new KpiTrails(store).Read(_f.Config, Now)[("db-perf", "query-time")];

        Assert.InRange(trail.Points.Count, KpiTrails.MaxPoints / 2, KpiTrails.MaxPoints + 1);
        Assert.Equal(Now.ToUnixTimeMilliseconds(), trail.Points[^1].TimestampMs);
        Assert.Equal(0, trail.Points[^1].Value);
        Assert.True(trail.Points.Zip(trail.Points.Skip(1)).All(p => p.First.TimestampMs < p.Second.TimestampMs));
    }

    [Fact]
    public void Read_AfterAReloadAddsTheKpi_ShowsItsEarlierStoredHistory()
    {
        var store = RoadmapDatabase.Open(_f.DatabasePath).Evaluations;
        var trails = new KpiTrails(store);
        store.Append([At("extra", "k", Now.AddMinutes(-10), 7)]);
        trails.Read(_f.Config, Now);
        var reloaded = new ConfigLoader(SourceKinds.All).Load(
            ReportFixture.Yaml + """

              - id: extra
                name: Extra
                kpis:
                  - { id: k, source: web, signal: up, aggregate: avg, window: 1h, target: ">= 0.5" }
            """,
            "shop.yaml");
        Assert.Empty(reloaded.Errors);

        var trail = trails.Read(reloaded.Config!, Now)[("extra", "k")];

        Assert.Equal([7.0], trail.Points.Select(p => p.Value!.Value));
    }

    [Fact]
    public void Read_FirstRead_AsksStorageForTheThinnedHistoryThenOnlyForWhatWasStoredSince()
    {
        var database = RoadmapDatabase.Open(_f.DatabasePath);
        using var store = new GatedEvaluationStore(database.Evaluations);
        store.Append(Enumerable.Range(0, 600).Select(s => At("db-perf", "query-time", Now.AddSeconds(-6 * s), s)).ToList());
        var trails = new KpiTrails(store);

        var first = trails.Read(_f.Config, Now)[("db-perf", "query-time")];
        store.Append([At("db-perf", "query-time", Now.AddSeconds(1), -1)]);
        var second = trails.Read(_f.Config, Now.AddSeconds(1))[("db-perf", "query-time")];

        // One thinned read, never every row of the history; the second read continues from the first's last row.
        Assert.Equal((1, 0), (store.ThinnedCalls, store.SinceFromZeroCalls));
        Assert.InRange(first.Points.Count, KpiTrails.MaxPoints / 2, KpiTrails.MaxPoints + 1);
        Assert.Equal(0, first.Points[^1].Value);
        Assert.Equal(-1, second.Points[^1].Value);
    }

    [Fact]
    public async Task ReadIfLoaded_WhileTheLoadWaitsForStorage_IsNullAtOnceThenTheTrailsOnceLoaded()
    {
        var database = RoadmapDatabase.Open(_f.DatabasePath);
        using var store = new GatedEvaluationStore(database.Evaluations);
        store.Append([At("db-perf", "query-time", Now.AddMinutes(-5), 3)]);
        store.Close();
        var trails = new KpiTrails(store);

        // The first call starts the load and returns; the load waits at the gate, which opens only after the second.
        var before = trails.ReadIfLoaded(_f.Config, Now);
        await store.Entered.WaitAsync(TimeSpan.FromMinutes(1));
        var during = trails.ReadIfLoaded(_f.Config, Now);
        store.Open();
        await trails.Load(_f.Config, Now).WaitAsync(TimeSpan.FromMinutes(1));
        var after = trails.ReadIfLoaded(_f.Config, Now);

        Assert.Null(before);
        Assert.Null(during);
        Assert.Equal(1, store.ThinnedCalls);
        Assert.NotNull(after);
        Assert.Equal([3.0], after[("db-perf", "query-time")].Points.Select(p => p.Value!.Value));
    }
}
