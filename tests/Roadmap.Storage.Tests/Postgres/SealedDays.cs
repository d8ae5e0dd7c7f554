using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Tests.Postgres;

/// <summary>
/// Days of samples written through the real writer, then sealed into day chunks by the real compactor, with the sealed
/// days' hour rollups dropped as the compactor does in the seal's transaction (issue 21: a day chunk answers for its
/// hours); the tests of the read session and of retention on such days share it.
/// </summary>
internal static class SealedDays
{
    public static readonly DateTimeOffset T0 = TestClock.RecentMidnight;

    public const long DayMs = 86_400_000;

    /// <summary>
    /// Three days from <see cref="T0"/>, a sample every minute at a jittered millisecond: "latency" (log-normal-like
    /// decimals, one ts written twice: the later value wins), "requests" (a counter reset halfway); and "fresh", whose
    /// first sample is at 07:30 of the second day. The points as stored, per signal, oldest first.
    /// </summary>
    public static Dictionary<string, List<Point>> Workload(out List<PollRecord> polls)
    {
        var random = new Random(2121);
        polls = [];
        var points = new Dictionary<string, SortedDictionary<long, double>> { ["latency"] = [], ["requests"] = [], ["fresh"] = [] };
        const int minutes = 3 * 24 * 60;
        for (var i = 0; i < minutes; i++)
        {
            var ts = T0.AddMinutes(i).AddMilliseconds(random.Next(0, 900)).ToUnixTimeMilliseconds();
            var samples = new List<(string, double)>
            {
                ("latency", Math.Round(Math.Exp(random.NextDouble() * 4), 6)),
                ("requests", i < minutes / 2 ? i * 7 : (i - (minutes / 2)) * 3),
            };
            if (i >= (24 + 7) * 60 + 30)
            {
                samples.Add(("fresh", Math.Round(random.NextDouble() * 100, 3)));
            }

            polls.Add(Poll(ts, [.. samples]));
            foreach (var (signal, value) in samples)
            {
                points[signal][ts] = value;
            }
        }

        // A second value at a stored ts, later: it replaces the first.
        var repeated = polls[(24 * 60) + 333];
        polls.Add(Poll(repeated.TimestampMs, ("latency", 4321.5)));
        points["latency"][repeated.TimestampMs] = 4321.5;
        return points.ToDictionary(p => p.Key, p => p.Value.Select(kv => new Point(kv.Key, kv.Value)).ToList());
    }

    public static PollRecord Poll(long ts, params (string Signal, double Value)[] samples) =>
        new("web", ts, 0.01, true, null, samples.Select(s => new SignalSample(s.Signal, s.Value)).ToList());

    /// <summary>Writes the polls through the real writer (which seals nothing), and waits until they are stored.</summary>
    public static Task WriteAsync(IRoadmapStorage db, IEnumerable<PollRecord> polls) => CompactionTests.WriteAsync(db, polls, CompactionTests.NeverCompact);

    /// <summary>
    /// Seals every closed day with the real compactor (the clock a day after the data), which drops the hour rollups of
    /// each day it seals into a day chunk in the seal's transaction; checks that none is left.
    /// </summary>
    public static void SealAndDropHours(IRoadmapStorage db, PostgresTestBackend backend)
    {
        using (var session = db.OpenWriteSession(new StorageOptions(), new FakeTimeProvider(T0.AddDays(4))))
        {
            for (var steps = 0; session.Compact().Chunks > 0; steps++)
            {
                Assert.True(steps < 10_000, "compaction did not finish");
            }
        }

        Assert.Equal(0, backend.HotSamples());
        Assert.Equal(0L, backend.Scalar<long>(
            """
            SELECT count(*) FROM rollups_hour h JOIN chunks c
                ON c.series_id = h.series_id AND c.end_ts - c.start_ts = 86400000 AND h.start_ts >= c.start_ts AND h.start_ts < c.end_ts;
            """));
    }

    /// <summary>The points with from &lt;= ts &lt;= to.</summary>
    public static List<Point> Between(List<Point> points, DateTimeOffset from, DateTimeOffset to) =>
        points.Where(p => p.TimestampMs >= from.ToUnixTimeMilliseconds() && p.TimestampMs <= to.ToUnixTimeMilliseconds()).ToList();

    /// <summary>Equal as summaries of the same points: the numbers (sum and increase up to float rounding of the
    /// additions) and the sketch bytes.</summary>
    public static void AssertSame(SeriesSummary want, SeriesSummary got, string what)
    {
        Assert.True(want.Count == got.Count, $"{what}: count {got.Count}, want {want.Count}");
        Assert.True(Close(want.Sum, got.Sum), $"{what}: sum {got.Sum:R}, want {want.Sum:R}");
        Assert.True(Close(want.Increase, got.Increase), $"{what}: increase {got.Increase:R}, want {want.Increase:R}");
        Assert.Equal((want.Min, want.Max), (got.Min, got.Max));
        Assert.Equal((want.FirstTimestampMs, want.FirstValue), (got.FirstTimestampMs, got.FirstValue));
        Assert.Equal((want.LastTimestampMs, want.LastValue), (got.LastTimestampMs, got.LastValue));
        Assert.Equal(want.Sketch.ToBytes(), got.Sketch.ToBytes());
    }

    private static bool Close(double want, double got) => Math.Abs(want - got) <= 1e-9 * Math.Max(1, Math.Abs(want));
}
