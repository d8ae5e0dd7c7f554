using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Tests;

public sealed class ClosedDaysCacheTests
{
    private static readonly DateTimeOffset Midnight = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);

    private static long Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    [Theory]
    [InlineData(30, -1)] // half a minute after midnight: yesterday may still be written, it is read every time
    [InlineData(59, -1)]
    [InlineData(60, 0)] // a minute after: yesterday is kept too
    [InlineData(3600, 0)]
    public void KeptEnd_WindowEndingAfterMidnight_KeepsOnlyDaysEndedAMinuteBefore(int secondsAfter, int keptDay)
    {
        var end = Midnight.AddSeconds(secondsAfter);
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
    [InlineData(-1, 0, true)] // yesterday's day, written any time today
    [InlineData(0, 86_389, false)] // today's, eleven seconds before its end
    [InlineData(0, 86_390, true)] // today's, ten seconds before its end: a reader's clock may be ahead
    [InlineData(1, 0, false)]
    public void WriteChangesClosedDay_DayEndedOrWithinTheMargin_IsTrue(int day, int secondsIntoToday, bool changes)
    {
        Assert.Equal(changes, ClosedDaysCache.WriteChangesClosedDay(Ms(Midnight.AddDays(day)), Ms(Midnight.AddSeconds(secondsIntoToday))));
    }

    [Fact]
    public void Get_OtherVersionOrRange_IsNullAndPutReplacesTheRangeOfTheSameLength()
    {
        var cache = new ClosedDaysCache(TimeProvider.System);
        var days = SeriesSummary.FromPoints([new Point(1, 2)]);
        cache.Put("web", "up", 0, 10, 3, days);

        Assert.Same(days, cache.Get("web", "up", 0, 10, 3));
        Assert.Null(cache.Get("web", "up", 0, 10, 4)); // a newer version: read again
        Assert.Null(cache.Get("web", "down", 0, 10, 3));
        Assert.Equal(3, cache.VersionOf("web", "up", 0, 10));

        cache.Put("web", "up", 1, 11, 3, days); // the next day's window
        Assert.Null(cache.Get("web", "up", 0, 10, 3));
        Assert.Null(cache.VersionOf("web", "up", 0, 10));
        Assert.Same(days, cache.Get("web", "up", 1, 11, 3));
    }
}
