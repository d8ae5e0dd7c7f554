using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Evaluation;
using Roadmap.Sources.Tests.Sql;
using static Roadmap.Storage.Tests.Postgres.SealedDays;

namespace Roadmap.Storage.Tests.Postgres;

/// <summary>Raw retention deleting day chunks whose hour rollups were dropped when the day was sealed.</summary>
public sealed class PostgresRetentionTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    /// <summary>
    /// The workload written, its hour rollups as the writer stored them, its days sealed (hours dropped), then a late
    /// sample into the first day (a hot row of a sealed day), then retention at T0 + 4 days under a raw retention of
    /// 2.5 days: the first day's chunks are past the cut, the second day's are not.
    /// </summary>
    private static async Task<(IRoadmapStorage Db, Dictionary<string, List<Point>> Points, Dictionary<(long, long), SeriesSummary> Written, long Late)> PrunedAsync(
        PostgresTestBackend backend, TimeSpan rollupRetention)
    {
        var db = backend.Open();
        var points = Workload(out var polls);
        await WriteAsync(db, polls);
        var written = backend.Rollups(RollupLevel.Hour);
        SealAndDropHours(db, backend);
        var late = (T0 + TimeSpan.FromHours(13.5)).ToUnixTimeMilliseconds() + 123;
        await WriteAsync(db, [Poll(late, ("latency", 0.5))]);
        points["latency"].Add(new Point(late, 0.5));
        points["latency"].Sort((a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
        Assert.Equal(8, backend.Count("chunks"));

        var options = new StorageOptions { RawRetention = TimeSpan.FromDays(2.5), RollupRetention = rollupRetention };
        using var session = db.OpenWriteSession(options, new FakeTimeProvider(T0.AddDays(4)));
        for (var i = 0; i < 100; i++)
        {
            session.Prune();
        }

        Assert.Equal(8 - 2, backend.Count("chunks")); // latency's and requests' first day
        Assert.Equal(0, backend.HotSamples()); // the late sample's day partition dropped after its chunk
        return (db, points, written, late);
    }

    [Fact]
    public async Task Prune_DayChunkPastRawRetention_DerivesItsHourRollupsAsTheWriterHadWrittenThem()
    {
        using var backend = new PostgresTestBackend(server);
        var (db, points, written, late) = await PrunedAsync(backend, new StorageOptions().RollupRetention);

        var hours = backend.Rollups(RollupLevel.Hour);
        var day0 = T0.ToUnixTimeMilliseconds();
        var lateHour = RollupLevel.Hour.StartOf(late);
        var firstDay = written.Where(w => w.Key.Item2 >= day0 && w.Key.Item2 < day0 + DayMs).ToList();
        Assert.Equal(2 * 24, firstDay.Count);
        Assert.Equal(firstDay.Select(w => w.Key).Order(), hours.Keys.Order()); // the second day's are still dropped
        foreach (var ((series, start), want) in firstDay)
        {
            var got = hours[(series, start)];
            if (start != lateHour || got.Count != want.Count + 1)
            {
                AssertSame(want, got, $"hour {start} of series {series}");
            }
        }

        // The late sample's hour: its chunk's points and the hot row, as the writer's recompute would sum them.
        var latencyLate = hours.Single(h => h.Key.Item2 == lateHour && h.Value.Count == 61).Value;
        AssertSame(SeriesSummary.FromPoints(points["latency"].Where(p => RollupLevel.Hour.StartOf(p.TimestampMs) == lateHour)), latencyLate, "the late sample's hour");

        // Windows with their start edge in the pruned day: hour precision there (an hour-aligned start is exact; a
        // ragged one takes its whole first hour, the documented approximation once the raw samples are gone), raw in
        // the sealed end day.
        using var session = db.Samples.OpenSession();
        foreach (var (from, hourStart) in new[] { (T0.AddHours(5), T0.AddHours(5)), (T0.AddHours(5).AddMinutes(13), T0.AddHours(5)) })
        {
            var to = T0.AddDays(1).AddHours(20).AddMinutes(2);
            foreach (var signal in new[] { "latency", "requests" })
            {
                AssertSame(SeriesSummary.FromPoints(Between(points[signal], hourStart, to)), session.Summarize("web", signal, from, to), $"{signal} from {from}");
            }
        }
    }

    [Fact]
    public async Task Prune_DayChunkPartlyPastRollupRetention_DerivesOnlyTheHoursStillKept()
    {
        using var backend = new PostgresTestBackend(server);

        // Rollups kept 3.5 days at T0 + 4 days: the first day's hours from noon on.
        await PrunedAsync(backend, TimeSpan.FromDays(3.5));

        var starts = backend.Rollups(RollupLevel.Hour).Keys.Select(k => k.Item2).ToList();
        Assert.Equal(2 * 12, starts.Count);
        Assert.All(starts, s => Assert.InRange(s, T0.AddHours(12).ToUnixTimeMilliseconds(), T0.AddDays(1).ToUnixTimeMilliseconds() - 1));
    }
}
