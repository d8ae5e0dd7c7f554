using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

public class DurationsTests
{
    public static TheoryData<string, TimeSpan> ValidDurations => new()
    {
        { "15s", TimeSpan.FromSeconds(15) },
        { "500ms", TimeSpan.FromMilliseconds(500) },
        { "2m", TimeSpan.FromMinutes(2) },
        { "1h30m", TimeSpan.FromMinutes(90) },
        { "1m30s", TimeSpan.FromSeconds(90) },
        { "30d", TimeSpan.FromDays(30) },
        { "1w", TimeSpan.FromDays(7) },
        { "1.5h", TimeSpan.FromMinutes(90) },
        { "0.5s", TimeSpan.FromMilliseconds(500) },
        { "1d2h3m4s5ms", new TimeSpan(1, 2, 3, 4, 5) },
        { " 15s ", TimeSpan.FromSeconds(15) },
    };

    [Theory]
    [MemberData(nameof(ValidDurations))]
    public void TryParse_ValidDuration_ReturnsValue(string text, TimeSpan expected)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("15")]
    [InlineData("15x")]
    [InlineData("-5s")]
    [InlineData("0s")]
    [InlineData("0ms")]
    [InlineData("s")]
    [InlineData("1m2")]
    [InlineData("15 s")]
    [InlineData("1.2.3s")]
    [InlineData(".s")]
    [InlineData("15S")]
    public void TryParse_InvalidDuration_ReturnsFalse(string text)
    {
        Assert.False(Durations.TryParse(text, out _));
    }

    [Theory]
    [InlineData("99999999999w")]
    [InlineData("9999999999999999d")]
    public void TryParse_DurationTooLargeForTimeSpan_ReturnsFalseWithoutThrowing(string text)
    {
        // A Try method must not throw: this one is called on user input by the config loader.
        var ex = Record.Exception(() => Durations.TryParse(text, out _));

        Assert.Null(ex);
        Assert.False(Durations.TryParse(text, out _));
    }

    public static TheoryData<TimeSpan, string> Formats => new()
    {
        { TimeSpan.FromSeconds(15), "15s" },
        { TimeSpan.FromMilliseconds(500), "500ms" },
        { TimeSpan.FromMinutes(90), "1h30m" },
        { TimeSpan.FromSeconds(90), "1m30s" },
        { TimeSpan.FromDays(30), "30d" },
        { TimeSpan.FromDays(7), "7d" },
        { new TimeSpan(1, 2, 3, 4, 5), "1d2h3m4s5ms" },
        { TimeSpan.Zero, "0s" },
        { TimeSpan.FromSeconds(-3), "0s" },
    };

    [Theory]
    [MemberData(nameof(Formats))]
    public void Format_Duration_ReturnsShortestConfigForm(TimeSpan value, string expected)
    {
        Assert.Equal(expected, Durations.Format(value));
    }

    [Theory]
    [InlineData("15s")]
    [InlineData("500ms")]
    [InlineData("1h30m")]
    [InlineData("30d")]
    [InlineData("1d2h3m4s5ms")]
    public void Format_CanonicalText_RoundTripsToSameText(string text)
    {
        Assert.True(Durations.TryParse(text, out var value));

        Assert.Equal(text, Durations.Format(value));
    }

    [Theory]
    [InlineData("1w", "7d")]
    [InlineData("1.5h", "1h30m")]
    [InlineData("90s", "1m30s")]
    [InlineData("60m", "1h")]
    [InlineData("1000ms", "1s")]
    public void Format_NonCanonicalText_RoundTripsToCanonicalFormOfSameValue(string text, string canonical)
    {
        Assert.True(Durations.TryParse(text, out var value));

        var formatted = Durations.Format(value);

        Assert.Equal(canonical, formatted);
        Assert.True(Durations.TryParse(formatted, out var back));
        Assert.Equal(value, back);
    }

    [Theory]
    [InlineData("0.5ms")]
    [InlineData("1.5ms")]
    [InlineData("0.0001s")]
    public void Format_AcceptedSubMillisecondDuration_ParsesBackToSameValue(string text)
    {
        // Either TryParse rejects durations finer than a millisecond, or Format must keep them:
        // an accepted duration that formats to "" (or loses its fraction) is shown wrong in labels and reports.
        if (Durations.TryParse(text, out var value))
        {
            var formatted = Durations.Format(value);
            Assert.True(Durations.TryParse(formatted, out var back), $"Format({text}) gave \"{formatted}\", which does not parse");
            Assert.Equal(value, back);
        }
    }
}
