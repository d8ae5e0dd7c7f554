using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

public class WindowTests
{
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    [Theory]
    [InlineData("30d", 30 * 24 * 3600)]
    [InlineData("1h", 3600)]
    [InlineData("15m", 900)]
    [InlineData("1w", 7 * 24 * 3600)]
    public void TryParse_Duration_ReturnsRollingWindow(string text, int seconds)
    {
        Assert.True(Window.TryParse(text, out var window));
        Assert.Equal(TimeSpan.FromSeconds(seconds), window.Rolling);
        Assert.Null(window.Calendar);
    }

    [Theory]
    [InlineData("day", CalendarPeriod.Day)]
    [InlineData("week", CalendarPeriod.Week)]
    [InlineData("Month", CalendarPeriod.Month)]
    [InlineData(" QUARTER ", CalendarPeriod.Quarter)]
    public void TryParse_CalendarName_ReturnsCalendarWindow(string text, CalendarPeriod expected)
    {
        Assert.True(Window.TryParse(text, out var window));
        Assert.Equal(expected, window.Calendar);
        Assert.Null(window.Rolling);
    }

    [Theory]
    [InlineData("")]
    [InlineData("year")]
    [InlineData("days")]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("3")]
    [InlineData("0s")]
    [InlineData("-1h")]
    public void TryParse_NeitherDurationNorCalendar_ReturnsFalse(string text)
    {
        Assert.False(Window.TryParse(text, out _));
    }

    [Theory]
    [InlineData("day,week")]
    [InlineData("month, week")]
    [InlineData("day, quarter")]
    public void TryParse_CommaSeparatedCalendarNames_ReturnsFalse(string text)
    {
        // Enum.TryParse reads "a, b" as the bitwise OR of the two values, e.g. "month, week" as quarter.
        Assert.False(Window.TryParse(text, out _));
    }

    [Theory]
    [InlineData("30d", "30d")]
    [InlineData("90m", "1h30m")]
    [InlineData("Week", "week")]
    [InlineData("quarter", "quarter")]
    public void ToString_Window_ReturnsConfigForm(string text, string expected)
    {
        Assert.True(Window.TryParse(text, out var window));

        Assert.Equal(expected, window.ToString());
    }

    [Fact]
    public void StartAt_Rolling_IsDurationBeforeNow()
    {
        var now = new DateTimeOffset(2026, 4, 1, 0, 30, 0, TimeSpan.Zero);

        var start = Window.OfDuration(TimeSpan.FromDays(30)).StartAt(now, NewYork);

        Assert.Equal(new DateTimeOffset(2026, 3, 2, 0, 30, 0, TimeSpan.Zero), start);
    }

    // 2026-04-01T00:30Z is a Wednesday in UTC and still Tuesday 2026-03-31 20:30 (EDT, -04:00) in New York.
    public static TheoryData<CalendarPeriod, string, DateTimeOffset> CalendarStarts => new()
    {
        { CalendarPeriod.Day, "UTC", new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero) },
        { CalendarPeriod.Week, "UTC", new DateTimeOffset(2026, 3, 30, 0, 0, 0, TimeSpan.Zero) },
        { CalendarPeriod.Month, "UTC", new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero) },
        { CalendarPeriod.Quarter, "UTC", new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero) },
        { CalendarPeriod.Day, "America/New_York", new DateTimeOffset(2026, 3, 31, 0, 0, 0, TimeSpan.FromHours(-4)) },
        { CalendarPeriod.Week, "America/New_York", new DateTimeOffset(2026, 3, 30, 0, 0, 0, TimeSpan.FromHours(-4)) },
        // March 1 is before the DST change of March 8, so New York is still on EST (-05:00) then.
        { CalendarPeriod.Month, "America/New_York", new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.FromHours(-5)) },
        { CalendarPeriod.Quarter, "America/New_York", new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.FromHours(-5)) },
    };

    [Theory]
    [MemberData(nameof(CalendarStarts))]
    public void StartAt_CalendarJustAfterUtcMidnight_StartsInTheZonesCurrentPeriod(CalendarPeriod period, string zoneId, DateTimeOffset expected)
    {
        var now = new DateTimeOffset(2026, 4, 1, 0, 30, 0, TimeSpan.Zero);
        var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);

        var start = Window.OfCalendar(period).StartAt(now, zone);

        Assert.Equal(expected, start);
        Assert.Equal(expected.Offset, start.Offset);
    }

    [Theory]
    [InlineData(2026, 3, 30, 2026, 3, 30)] // Monday: the week starts today
    [InlineData(2026, 4, 1, 2026, 3, 30)]  // Wednesday
    [InlineData(2026, 4, 5, 2026, 3, 30)]  // Sunday: the last day of the ISO week
    [InlineData(2027, 1, 1, 2026, 12, 28)] // Friday: the week began in the previous year
    public void StartAt_Week_StartsOnIsoMonday(int y, int m, int d, int wy, int wm, int wd)
    {
        var now = new DateTimeOffset(y, m, d, 12, 0, 0, TimeSpan.Zero);

        var start = Window.OfCalendar(CalendarPeriod.Week).StartAt(now, TimeZoneInfo.Utc);

        Assert.Equal(new DateTimeOffset(wy, wm, wd, 0, 0, 0, TimeSpan.Zero), start);
        Assert.Equal(DayOfWeek.Monday, start.DayOfWeek);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 1)]
    [InlineData(5, 4)]
    [InlineData(9, 7)]
    [InlineData(12, 10)]
    public void StartAt_Quarter_StartsOnFirstDayOfQuarter(int month, int quarterStartMonth)
    {
        var now = new DateTimeOffset(2026, month, 15, 12, 0, 0, TimeSpan.Zero);

        var start = Window.OfCalendar(CalendarPeriod.Quarter).StartAt(now, TimeZoneInfo.Utc);

        Assert.Equal(new DateTimeOffset(2026, quarterStartMonth, 1, 0, 0, 0, TimeSpan.Zero), start);
    }
}
