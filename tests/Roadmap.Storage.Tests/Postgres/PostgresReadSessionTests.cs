using Roadmap.Core.Evaluation;
using Roadmap.Sources.Tests.Sql;
using static Roadmap.Storage.Tests.Postgres.SealedDays;

namespace Roadmap.Storage.Tests.Postgres;

/// <summary>Window summaries whose edges fall in UTC days sealed into day chunks, whose hour rollups are gone.</summary>
public sealed class PostgresReadSessionTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    /// <summary>Windows over the three days of <see cref="SealedDays.Workload"/> (from, to: after T0).</summary>
    private static readonly (TimeSpan From, TimeSpan To, string Name)[] Windows =
    [
        (Minutes(13), Days(2) + Minutes(17), "ragged edges in the first and last day"),
        (Hours(5), Days(2) + Hours(7) - Ms(1), "edges at exact hours"),
        (Days(1), Days(2) + Hours(13) + Minutes(41), "starts exactly at midnight"),
        (Hours(3) + Minutes(29), Days(2) - Ms(1), "ends exactly at midnight"),
        (Days(1) + Hours(2) + Minutes(13), Days(2) + Hours(20) + Minutes(2), "fresh's first sample inside the start day"),
        (Hours(10) + Minutes(7), Days(1) + Hours(10) + Minutes(8), "one day, both edges sealed, no whole day between"),
        (-Hours(21), Days(3) + Hours(5), "edge days without data: before and after it"),
    ];

    private static TimeSpan Ms(int n) => TimeSpan.FromMilliseconds(n);

    private static TimeSpan Minutes(int n) => TimeSpan.FromMinutes(n);

    private static TimeSpan Hours(int n) => TimeSpan.FromHours(n);

    private static TimeSpan Days(int n) => TimeSpan.FromDays(n);

    private static Dictionary<string, SeriesSummary> Answers(IRoadmapStorage db, Dictionary<string, List<Point>> points)
    {
        var answers = new Dictionary<string, SeriesSummary>();
        using var session = db.Samples.OpenSession();
        foreach (var signal in points.Keys)
        {
            foreach (var (from, to, name) in Windows)
            {
                answers[$"{signal}, {name}"] = session.Summarize("web", signal, T0 + from, T0 + to);
            }
        }

        return answers;
    }

    [Fact]
    public async Task Summarize_EdgesInSealedDaysWithoutHourRollups_EqualTheRawPointsAndTheAnswersBeforeSealing()
    {
        using var backend = new PostgresTestBackend(server);
        var db = backend.Open();
        var points = Workload(out var polls);
        await WriteAsync(db, polls);
        var before = Answers(db, points);

        SealAndDropHours(db, backend);

        Assert.Equal(3 + 3 + 2, backend.Count("chunks")); // a day chunk per series and day with samples
        var after = Answers(db, points);
        foreach (var signal in points.Keys)
        {
            foreach (var (from, to, name) in Windows)
            {
                var key = $"{signal}, {name}";
                var want = SeriesSummary.FromPoints(Between(points[signal], T0 + from, T0 + to));
                Assert.True(want.Count > 0, key);
                AssertSame(want, after[key], key + " after sealing");
                AssertSame(before[key], after[key], key + " as before sealing");
            }
        }
    }

    [Fact]
    public async Task Summarize_LateAndReplacedSamplesInASealedDay_WindowsWithAnEdgeThereIncludeThem()
    {
        using var backend = new PostgresTestBackend(server);
        var db = backend.Open();
        var points = Workload(out var polls);
        await WriteAsync(db, polls);
        SealAndDropHours(db, backend);

        // Into the sealed second day: a new ts, and a new value at a sealed ts. They wait in the hot table, and the
        // writer leaves a partial hour rollup of each's hour (it found no row to add to): readers must ignore those.
        var latency = points["latency"];
        var replaced = latency.First(p => p.TimestampMs >= (T0 + Days(1) + Hours(15)).ToUnixTimeMilliseconds());
        var late = (T0 + Days(1) + Hours(9) + Minutes(30)).ToUnixTimeMilliseconds() + 123;
        await WriteAsync(db, [Poll(late, ("latency", 0.5)), Poll(replaced.TimestampMs, ("latency", 7777.25))]);
        latency[latency.IndexOf(replaced)] = replaced with { Value = 7777.25 };
        latency.Add(new Point(late, 0.5));
        latency.Sort((a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
        Assert.Equal(2, backend.HotSamples());
        Assert.Equal(2, backend.Scalar<long>(
            $"SELECT count(*) FROM rollups_hour WHERE start_ts >= {(T0 + Days(1)).ToUnixTimeMilliseconds()} AND start_ts < {(T0 + Days(2)).ToUnixTimeMilliseconds()};"));

        using var session = db.Samples.OpenSession();
        foreach (var (from, to) in new[]
        {
            (Days(1) + Hours(4) + Minutes(5), Days(2) + Hours(6) + Minutes(6)), // the start edge's day
            (Hours(7), Days(1) + Hours(18) + Minutes(19)),                      // the end edge's day
            (Hours(7), Days(1) + Hours(16) - Ms(1)),                            // the end edge at an exact hour
        })
        {
            var got = session.Summarize("web", "latency", T0 + from, T0 + to);

            AssertSame(SeriesSummary.FromPoints(Between(latency, T0 + from, T0 + to)), got, $"{from}-{to}");
            Assert.Equal(7777.25, got.Max);
        }
    }
}
