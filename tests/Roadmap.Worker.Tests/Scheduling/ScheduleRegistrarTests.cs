using Roadmap.Worker.Scheduling;

namespace Roadmap.Worker.Tests.Scheduling;

public sealed class ScheduleRegistrarTests
{
    [Theory]
    [InlineData(1_000, 1_000)]
    [InlineData(250, 250)]
    [InlineData(3_600_000, 1_000)] // a long interval still polls first within a second of start
    public void Spread_ManySources_StaysBelowTheCapAndSpreadsThem(int everyMs, int capMs)
    {
        var every = TimeSpan.FromMilliseconds(everyMs);

        var offsets = Enumerable.Range(0, 2000).Select(i => ScheduleRegistrar.Spread($"p{i:05d}", every)).ToList();

        Assert.All(offsets, o => Assert.InRange(o.TotalMilliseconds, 0, capMs - 1));
        // Whole slots, so the sources of a slot fire (and are handed to the pool) together.
        Assert.All(offsets, o => Assert.Equal(0, o.TotalMilliseconds % ScheduleRegistrar.SpreadSlotMs));
        // 2,000 ids over the range: far from all at one instant (the herd this exists to break up).
        var slots = capMs / ScheduleRegistrar.SpreadSlotMs;
        Assert.True(offsets.Distinct().Count() >= slots * 9 / 10, $"only {offsets.Distinct().Count()} distinct offsets of {slots} slots");
        var busiest = offsets.GroupBy(o => (int)(o.TotalMilliseconds * 10 / capMs)).Max(g => g.Count());
        Assert.True(busiest < 400, $"{busiest} of 2,000 sources in one tenth of the range");
    }

    [Fact]
    public void Spread_SameId_SameOffsetEveryTime()
    {
        // Not string.GetHashCode (randomized per process): FNV-1a of "web" is 265927825, worked out by hand, so the
        // offset is the same in every process: slot 265927825 mod 100 of the second's 10-ms slots.
        Assert.Equal(TimeSpan.FromMilliseconds(265927825 % 100 * 10), ScheduleRegistrar.Spread("web", TimeSpan.FromSeconds(1)));
        Assert.NotEqual(ScheduleRegistrar.Spread("web", TimeSpan.FromSeconds(1)), ScheduleRegistrar.Spread("api", TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Spread_IntervalShorterThanTwoSlots_SpreadsByTheMillisecond()
    {
        var every = TimeSpan.FromMilliseconds(15);

        var offsets = Enumerable.Range(0, 200).Select(i => ScheduleRegistrar.Spread($"p{i:05d}", every).TotalMilliseconds).ToList();

        Assert.All(offsets, o => Assert.InRange(o, 0, 14));
        Assert.Contains(offsets, o => o % ScheduleRegistrar.SpreadSlotMs != 0);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public void Spread_IntervalOfAMillisecondOrLess_IsZero(int everyMs) =>
        Assert.Equal(TimeSpan.Zero, ScheduleRegistrar.Spread("web", TimeSpan.FromMilliseconds(everyMs)));

    [Theory]
    [InlineData(1_000)]
    [InlineData(15_000)]
    [InlineData(3_600_000)]
    public void NextTick_TwoProcessesStartedApart_AgreeOnTheGrid(int everyMs)
    {
        var every = TimeSpan.FromMilliseconds(everyMs);
        var offset = ScheduleRegistrar.Spread("web", every).TotalMilliseconds;
        var first = new DateTimeOffset(2026, 12, 5, 12, 0, 0, 123, TimeSpan.Zero);
        var second = first + TimeSpan.FromMilliseconds(7_777_777);

        var a = ScheduleRegistrar.NextTick("web", every, first);
        var b = ScheduleRegistrar.NextTick("web", every, second);

        // Both on n × every + Spread, at or after their start and less than one interval later.
        Assert.Equal(offset, ((a.ToUnixTimeMilliseconds() % everyMs) + everyMs) % everyMs);
        Assert.Equal(offset, ((b.ToUnixTimeMilliseconds() % everyMs) + everyMs) % everyMs);
        Assert.InRange((a - first).TotalMilliseconds, 0, everyMs - 1);
        Assert.InRange((b - second).TotalMilliseconds, 0, everyMs - 1);
    }

    [Theory]
    [InlineData(-499)]
    [InlineData(-3)]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(499)]
    public void NearestTick_FiringOffItsPhaseByLessThanHalfAnInterval_IsThatTick(int offMs)
    {
        var every = TimeSpan.FromSeconds(1);
        var tick = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000 + (long)ScheduleRegistrar.Spread("web", every).TotalMilliseconds);

        Assert.Equal(tick, ScheduleRegistrar.NearestTick("web", every, tick + TimeSpan.FromMilliseconds(offMs)));
    }

    [Fact]
    public void NextTick_StartOnATick_IsThatTick()
    {
        var every = TimeSpan.FromSeconds(1);
        var tick = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000 + (long)ScheduleRegistrar.Spread("web", every).TotalMilliseconds);

        Assert.Equal(tick, ScheduleRegistrar.NextTick("web", every, tick));
    }
}
