using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Tests;

public sealed class ClosedDaysCacheTests
{
    private static readonly DateTimeOffset Midnight = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);

    private static long Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    [Theory]
    [InlineData(30, -1)] // half an hour after midnight: yesterday may still be written, it is read every time
    [InlineData(59, -1)]
    [InlineData(60, 0)] // an hour after: yesterday is kept too
    [InlineData(600, 0)]
    public void KeptEnd_WindowEndingAfterMidnight_KeepsOnlyDaysEndedAnHourBefore(int minutesAfter, int keptDay)
    {
        var end = Midnight.AddMinutes(minutesAfter);
        var cache = new ClosedDaysCache(new FakeTimeProvider(end));
        var plan = WindowPlan.Of(end.AddDays(-30), end);

        Assert.Equal(Ms(Midnight.AddDays(keptDay)), cache.KeptEnd(plan));
        Assert.True(cache.KeptEnd(plan) <= plan.LastDay);
    }

    [Fact]
    public void KeptEnd_WindowEndingAfterTheClock_KeepsOnlyDaysEndedByTheClock()
    {
        // A window that ends tomorrow: today has not ended by the clock, however the window is cut.
        var cache = new ClosedDaysCache(new FakeTimeProvider(Midnight.AddHours(12)));
        var plan = WindowPlan.Of(Midnight.AddDays(-30), Midnight.AddDays(1).AddHours(5));

        Assert.Equal(Ms(Midnight), cache.KeptEnd(plan));
        Assert.True(plan.LastDay > Ms(Midnight));
    }

    [Theory]
    [InlineData(-2, 0, true)] // the day before yesterday: any write raises the version
    [InlineData(-1, 58 * 60, false)] // yesterday, 58 minutes into today: no reader keeps it yet
    [InlineData(-1, 59 * 60, true)] // 59 minutes: a reader whose clock is a minute ahead may keep it
    [InlineData(0, 86_399, false)]
    public void WriteChangesClosedDay_DayAReaderMayKeep_IsTrue(int day, int secondsIntoToday, bool changes)
    {
        Assert.Equal(changes, ClosedDaysCache.WriteChangesClosedDay(Ms(Midnight.AddDays(day)), Ms(Midnight.AddSeconds(secondsIntoToday))));
    }

    [Fact]
    public void WriteChangesClosedDay_AnyDayKeptByAReaderWithinTheClockMargin_IsTrue()
    {
        // For every day a reader keeps at its clock, a writer whose clock is up to the margin behind raises the version.
        for (var minutes = 0; minutes < 3 * 24 * 60; minutes += 7)
        {
            var readerNow = Midnight.AddMinutes(minutes);
            var cache = new ClosedDaysCache(new FakeTimeProvider(readerNow));
            var kept = cache.KeptEnd(WindowPlan.Of(readerNow.AddDays(-30), readerNow));
            var writerNow = Ms(readerNow) - ClosedDaysCache.ClockMarginMs;
            for (var day = kept - 86_400_000; day >= kept - (3 * 86_400_000L); day -= 86_400_000)
            {
                Assert.True(ClosedDaysCache.WriteChangesClosedDay(day, writerNow), $"reader at {readerNow:O}, day {day}");
            }
        }
    }

    [Fact]
    public void Segments_DaysAcrossBlocks_AreContiguousAndCutAtTheBlockBoundaries()
    {
        var boundary = Ms(Midnight) - (Ms(Midnight) % ClosedDaysCache.BlockMs);
        var from = boundary - (3 * 86_400_000L);
        var to = boundary + (70 * 86_400_000L);

        var segments = ClosedDaysCache.Segments(from, to);

        Assert.Equal(
            [(from, boundary), (boundary, boundary + ClosedDaysCache.BlockMs), (boundary + ClosedDaysCache.BlockMs, boundary + (2 * ClosedDaysCache.BlockMs)), (boundary + (2 * ClosedDaysCache.BlockMs), to)],
            segments);
        Assert.Empty(ClosedDaysCache.Segments(to, to));
        Assert.Equal([(boundary, boundary + ClosedDaysCache.BlockMs)], ClosedDaysCache.Segments(boundary, boundary + ClosedDaysCache.BlockMs));
    }

    [Fact]
    public void TryAppend_KeptAtThatVersion_AppendsWhatAppendingTheSegmentWould()
    {
        var cache = new ClosedDaysCache(new FakeTimeProvider(Midnight));
        var random = new Random(3);
        var segment = SeriesSummary.FromPoints(Enumerable.Range(0, 500).Select(i => new Point(1_000 + i, Math.Round(Math.Exp(random.NextDouble() * 5), 3))));
        cache.Put("web", "latency", 0, 10, 3, segment);
        var before = SeriesSummary.FromPoints([new Point(10, 7), new Point(20, 9)]);
        var want = SeriesSummary.FromPoints([new Point(10, 7), new Point(20, 9)]);
        want.Append(segment);

        Assert.False(cache.TryAppend("web", "latency", 0, 10, 4, before)); // a newer version: read again
        Assert.False(cache.TryAppend("web", "other", 0, 10, 3, before));
        Assert.Equal(2, before.Count); // nothing appended
        Assert.True(cache.TryAppend("web", "latency", 0, 10, 3, before));

        Assert.Equal((want.Count, want.Sum, want.Min, want.Max, want.FirstTimestampMs, want.LastValue, want.Increase), (before.Count, before.Sum, before.Min, before.Max, before.FirstTimestampMs, before.LastValue, before.Increase));
        Assert.Equal(want.Sketch.ToBytes(), before.Sketch.ToBytes());
    }

    [Fact]
    public void Put_EntryUnusedForMoreThanADay_IsDroppedAtTheNextSweep()
    {
        var time = new FakeTimeProvider(Midnight);
        var cache = new ClosedDaysCache(time);
        cache.Put("web", "up", 0, 10, 1, SeriesSummary.FromPoints([new Point(1, 1)]));
        cache.Put("web", "up", 10, 20, 1, SeriesSummary.FromPoints([new Point(11, 1)]));

        time.Advance(TimeSpan.FromHours(20));
        Assert.True(cache.TryAppend("web", "up", 10, 20, 1, SeriesSummary.Empty())); // used: stays
        time.Advance(TimeSpan.FromHours(10));
        cache.Put("db", "up", 0, 10, 1, SeriesSummary.FromPoints([new Point(1, 1)]));

        Assert.False(cache.Holds("web", "up", 0, 10));
        Assert.True(cache.Holds("web", "up", 10, 20));
        Assert.Equal(2, cache.Count);
    }
}
