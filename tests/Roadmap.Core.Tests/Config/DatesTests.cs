using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

public class DatesTests
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    [Theory]
    [InlineData("2027-03-31", 2027, 3, 31)]
    [InlineData("2024-02-29", 2024, 2, 29)]
    [InlineData(" 2027-01-01 ", 2027, 1, 1)]
    public void TryParseDate_IsoDate_ReturnsDate(string text, int year, int month, int day)
    {
        Assert.True(Dates.TryParseDate(text, out var date));
        Assert.Equal(new DateOnly(year, month, day), date);
    }

    [Theory]
    [InlineData("")]
    [InlineData("2027-02-30")]
    [InlineData("2025-02-29")]
    [InlineData("2027-13-01")]
    [InlineData("2027-3-1")]
    [InlineData("31.03.2027")]
    [InlineData("2027/03/31")]
    [InlineData("2027-03-31T00:00:00")]
    [InlineData("2027-Q1")]
    public void TryParseDate_NotAnIsoDate_ReturnsFalse(string text)
    {
        Assert.False(Dates.TryParseDate(text, out _));
    }

    [Theory]
    [InlineData("2027-Q1", "2027-01-01", "2027-03-31")]
    [InlineData("2027-Q2", "2027-04-01", "2027-06-30")]
    [InlineData("2027-Q3", "2027-07-01", "2027-09-30")]
    [InlineData("2027-Q4", "2027-10-01", "2027-12-31")]
    [InlineData("2028-q1", "2028-01-01", "2028-03-31")]
    [InlineData("2027Q2", "2027-04-01", "2027-06-30")]
    [InlineData("Q3 2027", "2027-07-01", "2027-09-30")]
    [InlineData("Q4-2026", "2026-10-01", "2026-12-31")]
    [InlineData(" 2027-Q1 ", "2027-01-01", "2027-03-31")]
    public void TryParseQuarter_ValidQuarter_ReturnsFirstAndLastDay(string text, string start, string due)
    {
        Assert.True(Dates.TryParseQuarter(text, out var first, out var last));
        Assert.Equal(DateOnly.Parse(start, System.Globalization.CultureInfo.InvariantCulture), first);
        Assert.Equal(DateOnly.Parse(due, System.Globalization.CultureInfo.InvariantCulture), last);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Q5")]
    [InlineData("2027-Q5")]
    [InlineData("2027-Q0")]
    [InlineData("2027-Q")]
    [InlineData("2027-Q10")]
    [InlineData("27-Q1")]
    [InlineData("1899-Q1")]
    [InlineData("2027-01-01")]
    [InlineData("2027 Q1 extra")]
    public void TryParseQuarter_InvalidQuarter_ReturnsFalse(string text)
    {
        Assert.False(Dates.TryParseQuarter(text, out _, out _));
    }

    [Theory]
    [InlineData("\u0662\u0660\u0662\u0667-Q1")] // Arabic-Indic digits: \d matches them, int.Parse does not.
    [InlineData("2027-Q\u0661")]
    [InlineData("Q\u0661 2027")]
    public void TryParseQuarter_NonAsciiDigits_ReturnsFalseWithoutThrowing(string text)
    {
        var ex = Record.Exception(() => Dates.TryParseQuarter(text, out _, out _));

        Assert.Null(ex);
        Assert.False(Dates.TryParseQuarter(text, out _, out _));
    }

    [Fact]
    public void StartOfDay_Utc_IsMidnightUtc()
    {
        var start = Dates.StartOfDay(new DateOnly(2027, 3, 31), TimeZoneInfo.Utc);

        Assert.Equal(new DateTimeOffset(2027, 3, 31, 0, 0, 0, TimeSpan.Zero), start);
        Assert.Equal(TimeSpan.Zero, start.Offset);
    }

    [Fact]
    public void EndOfDay_Utc_IsNextMidnightUtc()
    {
        var end = Dates.EndOfDay(new DateOnly(2027, 12, 31), TimeZoneInfo.Utc);

        Assert.Equal(new DateTimeOffset(2028, 1, 1, 0, 0, 0, TimeSpan.Zero), end);
    }

    [Fact]
    public void StartOfDay_BerlinWinter_IsMidnightAtPlusOne()
    {
        var start = Dates.StartOfDay(new DateOnly(2026, 1, 15), Berlin);

        Assert.Equal(new DateTimeOffset(2026, 1, 14, 23, 0, 0, TimeSpan.Zero), start);
        Assert.Equal(TimeSpan.FromHours(1), start.Offset);
    }

    [Fact]
    public void StartAndEndOfDay_BerlinSpringForward_DayIs23Hours()
    {
        var day = new DateOnly(2026, 3, 29);

        var start = Dates.StartOfDay(day, Berlin);
        var end = Dates.EndOfDay(day, Berlin);

        Assert.Equal(new DateTimeOffset(2026, 3, 28, 23, 0, 0, TimeSpan.Zero), start);
        Assert.Equal(TimeSpan.FromHours(1), start.Offset);
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 22, 0, 0, TimeSpan.Zero), end);
        Assert.Equal(TimeSpan.FromHours(2), end.Offset);
        Assert.Equal(TimeSpan.FromHours(23), end - start);
    }

    [Fact]
    public void StartAndEndOfDay_BerlinFallBack_DayIs25Hours()
    {
        var day = new DateOnly(2026, 10, 25);

        var start = Dates.StartOfDay(day, Berlin);
        var end = Dates.EndOfDay(day, Berlin);

        Assert.Equal(new DateTimeOffset(2026, 10, 24, 22, 0, 0, TimeSpan.Zero), start);
        Assert.Equal(TimeSpan.FromHours(2), start.Offset);
        Assert.Equal(new DateTimeOffset(2026, 10, 25, 23, 0, 0, TimeSpan.Zero), end);
        Assert.Equal(TimeSpan.FromHours(1), end.Offset);
        Assert.Equal(TimeSpan.FromHours(25), end - start);
    }

    [Fact]
    public void StartOfDay_MidnightInDstGap_ResolvesForwardToFirstValidInstant()
    {
        // Chile springs forward at 24:00: 2026-09-06 00:00 local does not exist; the day starts at 01:00 -03:00.
        var santiago = TimeZoneInfo.FindSystemTimeZoneById("America/Santiago");

        var start = Dates.StartOfDay(new DateOnly(2026, 9, 6), santiago);

        Assert.Equal(new DateTimeOffset(2026, 9, 6, 4, 0, 0, TimeSpan.Zero), start);
        Assert.Equal(TimeSpan.FromHours(-3), start.Offset);
    }
}
