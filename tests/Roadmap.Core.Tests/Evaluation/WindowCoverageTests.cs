using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;

namespace Roadmap.Core.Tests.Evaluation;

public class WindowCoverageTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 15, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<string, string, double?, double, double> Coverages => new()
    {
        // scenario, window, first sample (minutes before now; null: none), source interval (s), coverage.
        { "no sample", "30d", null, 5, 0 },
        { "fresh install: 15 min of probes every 5 s", "30d", 15 - (5.0 / 60), 5, 15.0 / 43_200 },
        { "a sample stands for the interval before it", "1h", 30, 60, 31.0 / 60 },
        { "first sample at the window's start", "1h", 60, 5, 1 },
        { "the interval never reaches before the window", "1h", 59.9, 3600, 1 },
        { "unknown interval counts from the sample", "1h", 30, 0, 0.5 },
        { "a month window is the whole month: 14.5 days of 30 observed", "month", 14.5 * 1440, 0, 14.5 / 30 },
    };

    [Theory]
    [MemberData(nameof(Coverages))]
    public void Of_Scenario_IsObservedSpanOverWindowLength(string scenario, string window, double? firstMinutesAgo, double intervalSeconds, double expected)
    {
        Assert.True(Window.TryParse(window, out var w), scenario);
        var time = new FakeTimeProvider(Now);
        var now = time.GetUtcNow();
        long? first = firstMinutesAgo is { } m ? now.AddMinutes(-m).ToUnixTimeMilliseconds() : null;

        var coverage = WindowCoverage.Of(w.StartAt(now, TimeZoneInfo.Utc), WindowCoverage.LengthOf(w, now, TimeZoneInfo.Utc), now, first, TimeSpan.FromSeconds(intervalSeconds));

        Assert.Equal(expected, coverage, 1e-9);
    }

    public static TheoryData<string, string, double> Lengths => new()
    {
        { "30d", "UTC", 30 * 24 },
        { "day", "UTC", 24 },
        { "week", "UTC", 7 * 24 },
        { "month", "UTC", 30 * 24 },            // November
        { "quarter", "UTC", (31 + 30 + 31) * 24 }, // October to December
        { "day", "Europe/Berlin", 24 },
    };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void LengthOf_Window_IsTheWholePeriod(string window, string zone, double hours)
    {
        Assert.True(Window.TryParse(window, out var w));

        var length = WindowCoverage.LengthOf(w, Now, TimeZoneInfo.FindSystemTimeZoneById(zone));

        Assert.Equal(TimeSpan.FromHours(hours), length);
    }

    [Fact]
    public void LengthOf_DayWhenClocksGoBack_Is25Hours()
    {
        Assert.True(Window.TryParse("day", out var w));

        var length = WindowCoverage.LengthOf(w, new DateTimeOffset(2026, 10, 25, 12, 0, 0, TimeSpan.Zero), TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin"));

        Assert.Equal(TimeSpan.FromHours(25), length);
    }

    [Theory]
    [InlineData(40, "40 s")]
    [InlineData(15 * 60, "15 min")]
    [InlineData(150 * 60, "2.5 h")]
    [InlineData(3.2 * 86_400, "3.2 days")]
    public void Describe_Span_IsInWords(double seconds, string expected) =>
        Assert.Equal(expected, WindowCoverage.Describe(TimeSpan.FromSeconds(seconds)));
}
