using Roadmap.Core.Config;

namespace Roadmap.Core.Evaluation;

/// <summary>How much of its window a KPI has seen. Pure.</summary>
public static class WindowCoverage
{
    /// <summary>
    /// The length of the whole window at <paramref name="now"/>: the duration of a rolling window; the whole period
    /// (this day, ISO week, month or quarter, in <paramref name="zone"/>) of a calendar window, which "so far" only
    /// begins to fill.
    /// </summary>
    public static TimeSpan LengthOf(Window window, DateTimeOffset now, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(window);
        if (window.Rolling is { } r)
        {
            return r;
        }

        var start = window.StartAt(now, zone);
        var first = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(start, zone).DateTime);
        var next = window.Calendar switch
        {
            CalendarPeriod.Day => first.AddDays(1),
            CalendarPeriod.Week => first.AddDays(7),
            CalendarPeriod.Month => first.AddMonths(1),
            _ => first.AddMonths(3),
        };
        return Dates.StartOfDay(next, zone) - start;
    }

    /// <summary>
    /// observed span ÷ window length, between 0 and 1. The observed span runs from the first sample in the window,
    /// less one source interval (a sample stands for the interval before it), to now, and never starts before the
    /// window does. 0 without a sample.
    /// </summary>
    /// <param name="windowStart">The window's first instant.</param>
    /// <param name="length">The whole window's length (<see cref="LengthOf"/>).</param>
    /// <param name="firstSampleMs">The first sample in the window, unix milliseconds; null without one.</param>
    /// <param name="sourceInterval">The source's poll interval; zero when unknown.</param>
    public static double Of(DateTimeOffset windowStart, TimeSpan length, DateTimeOffset now, long? firstSampleMs, TimeSpan sourceInterval)
    {
        if (firstSampleMs is not { } first)
        {
            return 0;
        }

        if (length <= TimeSpan.Zero)
        {
            return 1;
        }

        var from = DateTimeOffset.FromUnixTimeMilliseconds(first) - sourceInterval;
        if (from < windowStart)
        {
            from = windowStart;
        }

        return Math.Clamp((now - from) / length, 0, 1);
    }

    /// <summary>The first sample of the KPI's samples (numerator or denominator, whichever is earlier); null without one.</summary>
    public static long? FirstSample(KpiSamples samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        long? first = null;
        foreach (var s in new[] { samples.Points, samples.Denominator })
        {
            if (s.Count > 0 && (first is null || s.FirstTimestampMs < first))
            {
                first = s.FirstTimestampMs;
            }
        }

        return first;
    }

    /// <summary>A span for people: "40 s", "15 min", "2.5 h", "3.2 days".</summary>
    public static string Describe(TimeSpan span) => span.TotalMinutes switch
    {
        < 1 => $"{span.TotalSeconds:0} s",
        < 120 => $"{span.TotalMinutes:0} min",
        < 2 * 24 * 60 => $"{span.TotalHours:0.#} h",
        _ => $"{span.TotalDays:0.#} days",
    };
}
