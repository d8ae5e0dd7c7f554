using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;

namespace Roadmap.Core.Tests.Evaluation;

/// <summary>Deadlines, forecasts, baselines and windows: the rules of docs/KPI.md, table by table.</summary>
public class KpiEvaluatorDeadlineTests
{
    /// <summary>Late November 2026: the deadline 2027-03-31 is four months ahead.</summary>
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static readonly DateOnly Deadline = new(2027, 3, 31);

    /// <summary>The end of the deadline day in UTC, where the forecast is projected to.</summary>
    private static readonly DateTimeOffset DeadlineEnd = new(2027, 4, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Seconds from <see cref="Now"/> to <see cref="DeadlineEnd"/>: 125.5 days.</summary>
    private const double SecondsToDeadline = 125.5 * 86_400;

    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private static readonly TimeZoneInfo LosAngeles = TimeZoneInfo.FindSystemTimeZoneById("America/Los_Angeles");

    private static KpiConfig Kpi(
        string target,
        DateOnly? deadline = null,
        Baseline? baseline = null,
        Aggregate aggregate = Aggregate.Avg,
        string signal = "latency_seconds",
        Window? window = null)
    {
        Assert.True(Target.TryParse(target, out var t), $"test setup: target \"{target}\" must parse");
        return new KpiConfig("page-load-p95", "Page load p95", "rum", signal, [], aggregate, window ?? Window.OfDuration(TimeSpan.FromDays(1)), t, baseline, deadline, "seconds");
    }

    /// <summary>The acceptance KPI: "&lt;= baseline - 20%" against the number 2.4, due 2027-03-31.</summary>
    private static KpiConfig PageLoad() => Kpi("<= baseline - 20%", Deadline, new Baseline(2.4, null, null));

    private static KpiSamples Samples(DateTimeOffset now, params double[] values) =>
        new(values.Select((v, i) => new Point(now.AddMinutes(-values.Length + i).ToUnixTimeMilliseconds(), v)).ToList(), []);

    /// <summary>A trend through <paramref name="valueNow"/> at <see cref="Now"/>, changing by <paramref name="perDay"/> a day.</summary>
    private static LinearTrend Trend(double valueNow, double perDay) =>
        new(Now, valueNow, perDay / 86_400, 20, TimeSpan.FromDays(5));

    [Fact]
    public void Evaluate_AcceptanceExampleWithFallingTrend_IsOnTrackWithTarget1Point92()
    {
        // Falling 0.01 a day: 2.1 - 1.255 = 0.845 by the end of 2027-03-31.
        var result = KpiEvaluator.Evaluate("frontend", PageLoad(), Samples(Now, 2.2, 2.1, 2.0), Now, TimeZoneInfo.Utc, trend: Trend(2.1, -0.01));

        Assert.Equal(KpiStatus.OnTrack, result.Status);
        Assert.False(result.Met);
        Assert.Equal(2.1, result.Value!.Value, 1e-9);
        Assert.Equal(1.92, result.Target!.Value, 1e-9);
        Assert.Equal(2.4, result.Baseline);
        Assert.Equal(DeadlineEnd, result.Deadline);
        Assert.Equal(0.845, result.Forecast!.Value, 1e-9);
        Assert.Null(result.ErrorBudgetRemaining);
    }

    [Fact]
    public void Evaluate_AcceptanceExampleWithFlatTrend_IsAtRiskAndForecastsTheSameValue()
    {
        var result = KpiEvaluator.Evaluate("frontend", PageLoad(), Samples(Now, 2.1), Now, TimeZoneInfo.Utc, trend: Trend(2.1, 0));

        Assert.Equal(KpiStatus.AtRisk, result.Status);
        Assert.False(result.Met);
        Assert.Equal(1.92, result.Target!.Value, 1e-9);
        Assert.Equal(2.1, result.Forecast!.Value, 1e-12);
    }

    [Fact]
    public void Evaluate_AcceptanceExampleAfterDeadline_IsMissedEvenWithFallingTrend()
    {
        var time = new FakeTimeProvider(Now);
        var trend = Trend(2.1, -0.01);
        var kpi = PageLoad();

        var before = KpiEvaluator.Evaluate("frontend", kpi, Samples(time.GetUtcNow(), 2.1), time.GetUtcNow(), TimeZoneInfo.Utc, trend: trend);
        time.SetUtcNow(DeadlineEnd);
        var after = KpiEvaluator.Evaluate("frontend", kpi, Samples(time.GetUtcNow(), 2.1), time.GetUtcNow(), TimeZoneInfo.Utc, trend: trend);

        Assert.Equal(KpiStatus.OnTrack, before.Status);
        Assert.Equal(KpiStatus.Missed, after.Status);
        Assert.False(after.Met);
        Assert.Equal(1.92, after.Target!.Value, 1e-9);
        Assert.Equal("target not met by the deadline 2027-03-31", after.Note);
        // Once the deadline has passed the value is the verdict: no forecast.
        Assert.NotNull(before.Forecast);
        Assert.Null(after.Forecast);
    }

    /// <summary>Value 2.1 against 1.92 (not met) at <see cref="Now"/>: how much it must fall a day to be on track.</summary>
    public static TheoryData<double, KpiStatus> TrendsAgainstTheDeadline => new()
    {
        { -0.01, KpiStatus.OnTrack },
        // 0.18 in 125.5 days is 0.001434 a day: just faster is on track, just slower is at risk.
        { -0.0015, KpiStatus.OnTrack },
        { -0.0014, KpiStatus.AtRisk },
        { 0, KpiStatus.AtRisk },
        { 0.01, KpiStatus.AtRisk },
    };

    [Theory]
    [MemberData(nameof(TrendsAgainstTheDeadline))]
    public void Evaluate_NotMetBeforeDeadline_StatusFollowsForecastAtDeadline(double perDay, KpiStatus expected)
    {
        var result = KpiEvaluator.Evaluate("frontend", PageLoad(), Samples(Now, 2.1), Now, TimeZoneInfo.Utc, trend: Trend(2.1, perDay));

        Assert.Equal(expected, result.Status);
        Assert.Equal(2.1 + (perDay * 125.5), result.Forecast!.Value, 1e-9);
    }

    [Fact]
    public void Evaluate_NotMetWithTooLittleHistory_IsAtRiskWithoutForecast()
    {
        var result = KpiEvaluator.Evaluate("frontend", PageLoad(), Samples(Now, 2.1), Now, TimeZoneInfo.Utc, trend: null);

        Assert.Equal(KpiStatus.AtRisk, result.Status);
        Assert.Null(result.Forecast);
        Assert.Equal("target not met, and too little history to forecast it by 2027-03-31", result.Note);
    }

    [Fact]
    public void Evaluate_TooLittleHistoryFromFit_IsAtRisk()
    {
        // Four evaluations falling steeply: a trend would be on track, but four points are too few to forecast.
        var history = Enumerable.Range(0, 4).Select(i => new Point(Now.AddHours(-4 + i).ToUnixTimeMilliseconds(), 2.4 - (0.1 * i))).ToList();

        var result = KpiEvaluator.Evaluate("frontend", PageLoad(), Samples(Now, 2.1), Now, TimeZoneInfo.Utc, trend: Forecast.Fit(history));

        Assert.Equal(KpiStatus.AtRisk, result.Status);
        Assert.Null(result.Forecast);
    }

    [Fact]
    public void Evaluate_KpiMdForecastExample_GivesTheBandAndTheProbability()
    {
        // docs/KPI.md example 8: 2.1 s now, falling 0.002 s a day, the history scattered around the line with
        // sigma 0.1 s; 125.5 days to the deadline: 2.1 - 0.251 = 1.849 s, band ± 1.2816 × 0.1, and
        // P(<= 1.92) = Φ((1.92 - 1.849) / 0.1) = Φ(0.71) = 0.761.
        var trend = Trend(2.1, -0.002) with { Sigma = 0.1 };

        var result = KpiEvaluator.Evaluate("frontend", PageLoad(), Samples(Now, 2.1), Now, TimeZoneInfo.Utc, trend: trend);

        Assert.Equal(KpiStatus.OnTrack, result.Status);
        Assert.Equal(1.849, result.Forecast!.Value, 1e-9);
        Assert.Equal(1.72084, result.ForecastLower!.Value, 1e-5);
        Assert.Equal(1.97716, result.ForecastUpper!.Value, 1e-5);
        Assert.Equal(0.76115, result.ForecastProbability!.Value, 1e-5);
        Assert.Equal("target not met yet; the trend reaches 1.849 (80%: 1.721 to 1.977) by 2027-03-31, 76% likely to meet it", result.Note);
    }

    [Fact]
    public void Evaluate_FittedFallingHistory_IsOnTrack()
    {
        // Six hourly evaluations falling 0.01 an hour to 2.1 now: 0.24 a day, far below 1.92 by the deadline. The
        // line reaches 2.1 - 30.12 = -28 s there; a latency cannot be negative, so the forecast is 0 (and so is
        // its band: the points lie on the line).
        var history = Enumerable.Range(0, 6).Select(i => new Point(Now.AddHours(-5 + i).ToUnixTimeMilliseconds(), 2.15 - (0.01 * i))).ToList();

        var result = KpiEvaluator.Evaluate("frontend", PageLoad(), Samples(Now, 2.1), Now, TimeZoneInfo.Utc, trend: Forecast.Fit(history));

        Assert.Equal(KpiStatus.OnTrack, result.Status);
        Assert.Equal(0.0, result.Forecast!.Value, 1e-12);
        Assert.Equal((0.0, 0.0, 1.0), (result.ForecastLower, result.ForecastUpper, result.ForecastProbability));
    }

    [Fact]
    public void Evaluate_MetWithRisingTrend_IsMetRegardlessOfForecast()
    {
        // 1.9 meets <= 1.92, although the trend leaves the target long before the deadline.
        var result = KpiEvaluator.Evaluate("frontend", PageLoad(), Samples(Now, 1.9), Now, TimeZoneInfo.Utc, trend: Trend(1.9, 0.05));

        Assert.Equal(KpiStatus.Met, result.Status);
        Assert.True(result.Met);
        Assert.Equal(1.9 + (0.05 * 125.5), result.Forecast!.Value, 1e-9);
    }

    [Fact]
    public void Evaluate_MetAfterDeadline_IsMetWithoutForecast()
    {
        var after = DeadlineEnd.AddDays(30);

        var result = KpiEvaluator.Evaluate("frontend", PageLoad(), Samples(after, 1.8), after, TimeZoneInfo.Utc, trend: Trend(2.1, 0.01));

        Assert.Equal(KpiStatus.Met, result.Status);
        Assert.True(result.Met);
        Assert.Null(result.Forecast);
    }

    [Fact]
    public void Evaluate_NoDeadlineWithFallingTrend_IsMissedWithoutForecast()
    {
        var kpi = Kpi("<= baseline - 20%", deadline: null, new Baseline(2.4, null, null));

        var result = KpiEvaluator.Evaluate("frontend", kpi, Samples(Now, 2.1), Now, TimeZoneInfo.Utc, trend: Trend(2.1, -0.01));

        Assert.Equal(KpiStatus.Missed, result.Status);
        Assert.Null(result.Forecast);
        Assert.Null(result.Deadline);
    }

    [Fact]
    public void Evaluate_RisingTargetWithRisingTrend_IsOnTrack()
    {
        // Cache hit ratio 0.8 rising 0.001 a day to 0.9255 by the deadline: ">= 0.9" is on track.
        var kpi = Kpi(">= 0.9", Deadline, signal: "hit_ratio");

        var result = KpiEvaluator.Evaluate("cache", kpi, Samples(Now, 0.8), Now, TimeZoneInfo.Utc, trend: Trend(0.8, 0.001));

        Assert.Equal(KpiStatus.OnTrack, result.Status);
        Assert.Equal(0.9255, result.Forecast!.Value, 1e-9);
    }

    [Fact]
    public void Evaluate_DeadlineInBerlin_ForecastIsProjectedToTheEndOfTheLocalDay()
    {
        // 2027-03-31 ends at 22:00Z in Berlin (CEST, +02:00) and at 24:00Z in UTC: a trend rising 1 an hour from 0 at
        // 20:00Z gives 2 in Berlin and 4 in UTC.
        var now = new DateTimeOffset(2027, 3, 31, 12, 0, 0, TimeSpan.Zero);
        var trend = new LinearTrend(new DateTimeOffset(2027, 3, 31, 20, 0, 0, TimeSpan.Zero), 0, 1.0 / 3600, 10, TimeSpan.FromDays(1));
        var kpi = Kpi(">= 3", Deadline);

        var berlin = KpiEvaluator.Evaluate("i", kpi, Samples(now, 1), now, Berlin, trend: trend);
        var utc = KpiEvaluator.Evaluate("i", kpi, Samples(now, 1), now, TimeZoneInfo.Utc, trend: trend);

        Assert.Equal(new DateTimeOffset(2027, 3, 31, 22, 0, 0, TimeSpan.Zero), berlin.Deadline);
        Assert.Equal(2.0, berlin.Forecast!.Value, 1e-9);
        Assert.Equal(KpiStatus.AtRisk, berlin.Status);
        Assert.Equal(4.0, utc.Forecast!.Value, 1e-9);
        Assert.Equal(KpiStatus.OnTrack, utc.Status);
    }

    [Fact]
    public void Evaluate_DeadlinePassedInUtcButNotInLosAngeles_IsMissedOnlyInUtc()
    {
        // 2027-04-01T03:00Z is still 2027-03-31 20:00 in Los Angeles (PDT, -07:00): the deadline day has not ended there.
        var at = new DateTimeOffset(2027, 4, 1, 3, 0, 0, TimeSpan.Zero);

        var inUtc = KpiEvaluator.Evaluate("frontend", PageLoad(), Samples(at, 2.1), at, TimeZoneInfo.Utc, trend: Trend(2.1, -0.01));
        var inLosAngeles = KpiEvaluator.Evaluate("frontend", PageLoad(), Samples(at, 2.1), at, LosAngeles, trend: Trend(2.1, -0.01));

        Assert.Equal(KpiStatus.Missed, inUtc.Status);
        Assert.Equal(KpiStatus.OnTrack, inLosAngeles.Status);
        Assert.Equal(new DateTimeOffset(2027, 4, 1, 7, 0, 0, TimeSpan.Zero), inLosAngeles.Deadline);
    }

    [Fact]
    public void Evaluate_PeriodBaselineWithoutData_IsNoDataEvenAfterTheDeadline()
    {
        // The baseline period had no samples, so there is no baseline value: the target is unknown, nothing is judged.
        var kpi = Kpi("<= baseline - 20%", Deadline, new Baseline(null, new DateOnly(2026, 10, 1), new DateOnly(2026, 10, 31)));
        var after = DeadlineEnd.AddDays(1);

        var result = KpiEvaluator.Evaluate("frontend", kpi, Samples(after, 2.1), after, TimeZoneInfo.Utc, baseline: null, trend: Trend(2.1, -0.01));

        Assert.Equal(KpiStatus.NoData, result.Status);
        Assert.Null(result.Target);
        Assert.Null(result.Baseline);
        Assert.False(result.Met);
        Assert.Equal(2.1, result.Value);
        Assert.Equal("the baseline has no value yet, so the target is unknown", result.Note);
    }

    [Fact]
    public void Evaluate_NumberBaseline_IgnoresThePeriodBaselineArgument()
    {
        var result = KpiEvaluator.Evaluate("frontend", PageLoad(), Samples(Now, 2.1), Now, TimeZoneInfo.Utc, baseline: 10);

        Assert.Equal(1.92, result.Target!.Value, 1e-9);
        Assert.Equal(2.4, result.Baseline);
    }

    [Fact]
    public void Evaluate_PeriodBaselineGiven_ResolvesTargetFromIt()
    {
        var kpi = Kpi("<= baseline - 20%", Deadline, new Baseline(null, new DateOnly(2026, 10, 1), new DateOnly(2026, 10, 31)));

        var result = KpiEvaluator.Evaluate("frontend", kpi, Samples(Now, 2.1), Now, TimeZoneInfo.Utc, baseline: 2.4, trend: Trend(2.1, 0));

        Assert.Equal(1.92, result.Target!.Value, 1e-9);
        Assert.Equal(2.4, result.Baseline);
        Assert.Equal(KpiStatus.AtRisk, result.Status);
    }

    public static TheoryData<string, Aggregate, double[], KpiStatus, double?> SampleShapes => new()
    {
        { "empty window", Aggregate.Avg, [], KpiStatus.NoData, null },
        { "single sample", Aggregate.Avg, [1.5], KpiStatus.Met, 1.5 },
        { "single sample of a counter has no increase", Aggregate.Increase, [40], KpiStatus.NoData, null },
        { "NaN among samples is ignored", Aggregate.Avg, [1.0, double.NaN, 2.0], KpiStatus.Met, 1.5 },
        { "only NaN", Aggregate.Max, [double.NaN], KpiStatus.NoData, null },
        // 10 -> 15 (+5), reset to 3 (+3), -> 8 (+5): 13, never negative.
        { "counter reset", Aggregate.Increase, [10, 15, 3, 8], KpiStatus.Met, 13 },
        { "counter reset above the target", Aggregate.Increase, [10, 15, 3, 25], KpiStatus.AtRisk, 30 },
    };

    [Theory]
    [MemberData(nameof(SampleShapes))]
    public void Evaluate_SampleShape_GivesValueAndStatus(string scenario, Aggregate aggregate, double[] values, KpiStatus expected, double? value)
    {
        // "<= 20" due 2027-03-31, no trend: met, at risk when not met, no data without a value.
        var target = aggregate == Aggregate.Increase ? "<= 20" : "<= 2";
        var kpi = Kpi(target, Deadline, aggregate: aggregate);

        var result = KpiEvaluator.Evaluate("bugs", kpi, Samples(Now, values), Now, TimeZoneInfo.Utc);

        Assert.True(scenario.Length > 0);
        Assert.Equal(expected, result.Status);
        if (value is { } v)
        {
            Assert.Equal(v, result.Value!.Value, 1e-9);
        }
        else
        {
            Assert.Null(result.Value);
        }
    }

    /// <summary>Calendar windows in the roadmap's zone: (period, zone, now, expected start).</summary>
    public static TheoryData<CalendarPeriod, string, DateTimeOffset, DateTimeOffset> CalendarEdges => new()
    {
        // 2027-01-01T03:00Z is still 2026-12-31 19:00 PST in Los Angeles: 2026-Q4, which began at 00:00 PDT (-07:00).
        { CalendarPeriod.Quarter, "America/Los_Angeles", new(2027, 1, 1, 3, 0, 0, TimeSpan.Zero), new(2026, 10, 1, 7, 0, 0, TimeSpan.Zero) },
        // The same instant is 2027-Q1 in UTC and in Berlin (04:00 CET).
        { CalendarPeriod.Quarter, "UTC", new(2027, 1, 1, 3, 0, 0, TimeSpan.Zero), new(2027, 1, 1, 0, 0, 0, TimeSpan.Zero) },
        { CalendarPeriod.Quarter, "Europe/Berlin", new(2027, 1, 1, 3, 0, 0, TimeSpan.Zero), new(2026, 12, 31, 23, 0, 0, TimeSpan.Zero) },
        // Last millisecond of 2026-Q4 in Los Angeles, then its first of 2027-Q1 (midnight PST = 08:00Z).
        { CalendarPeriod.Quarter, "America/Los_Angeles", new(2027, 1, 1, 7, 59, 59, 999, TimeSpan.Zero), new(2026, 10, 1, 7, 0, 0, TimeSpan.Zero) },
        { CalendarPeriod.Quarter, "America/Los_Angeles", new(2027, 1, 1, 8, 0, 0, TimeSpan.Zero), new(2027, 1, 1, 8, 0, 0, TimeSpan.Zero) },
        // Tokyo is ahead: 2026-09-30T15:00Z is already 2026-10-01 00:00 JST, so Q4 has begun there.
        { CalendarPeriod.Quarter, "Asia/Tokyo", new(2026, 9, 30, 15, 0, 0, TimeSpan.Zero), new(2026, 9, 30, 15, 0, 0, TimeSpan.Zero) },
        { CalendarPeriod.Quarter, "Asia/Tokyo", new(2026, 9, 30, 14, 59, 59, TimeSpan.Zero), new(2026, 6, 30, 15, 0, 0, TimeSpan.Zero) },
        // Berlin springs forward on 2026-03-29 (02:00 CET -> 03:00 CEST): that month began on CET (+01:00).
        { CalendarPeriod.Month, "Europe/Berlin", new(2026, 3, 29, 12, 0, 0, TimeSpan.Zero), new(2026, 2, 28, 23, 0, 0, TimeSpan.Zero) },
        { CalendarPeriod.Day, "Europe/Berlin", new(2026, 3, 29, 12, 0, 0, TimeSpan.Zero), new(2026, 3, 28, 23, 0, 0, TimeSpan.Zero) },
        { CalendarPeriod.Week, "Europe/Berlin", new(2026, 3, 29, 12, 0, 0, TimeSpan.Zero), new(2026, 3, 22, 23, 0, 0, TimeSpan.Zero) },
        // The next month begins on CEST (+02:00): 2026-03-31T22:00Z.
        { CalendarPeriod.Month, "Europe/Berlin", new(2026, 3, 31, 22, 30, 0, TimeSpan.Zero), new(2026, 3, 31, 22, 0, 0, TimeSpan.Zero) },
        { CalendarPeriod.Month, "Europe/Berlin", new(2026, 3, 31, 21, 59, 59, TimeSpan.Zero), new(2026, 2, 28, 23, 0, 0, TimeSpan.Zero) },
        // Berlin falls back on 2026-10-25 (03:00 CEST -> 02:00 CET): that month and day began on CEST.
        { CalendarPeriod.Month, "Europe/Berlin", new(2026, 10, 25, 12, 0, 0, TimeSpan.Zero), new(2026, 9, 30, 22, 0, 0, TimeSpan.Zero) },
        { CalendarPeriod.Day, "Europe/Berlin", new(2026, 10, 25, 12, 0, 0, TimeSpan.Zero), new(2026, 10, 24, 22, 0, 0, TimeSpan.Zero) },
        // The day after the change begins on CET: 2026-10-25T23:00Z.
        { CalendarPeriod.Day, "Europe/Berlin", new(2026, 10, 26, 0, 30, 0, TimeSpan.Zero), new(2026, 10, 25, 23, 0, 0, TimeSpan.Zero) },
        { CalendarPeriod.Quarter, "Europe/Berlin", new(2026, 10, 25, 12, 0, 0, TimeSpan.Zero), new(2026, 9, 30, 22, 0, 0, TimeSpan.Zero) },
        // Havana falls back at 01:00 to 00:00 on 2026-11-01, so that midnight happens twice: the standard-time one counts.
        { CalendarPeriod.Day, "America/Havana", new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero), new(2026, 11, 1, 5, 0, 0, TimeSpan.Zero) },
        // Santiago springs forward at midnight on 2026-09-06 (00:00 -04 -> 01:00 -03): the day starts at 01:00 local.
        { CalendarPeriod.Day, "America/Santiago", new(2026, 9, 6, 12, 0, 0, TimeSpan.Zero), new(2026, 9, 6, 4, 0, 0, TimeSpan.Zero) },
    };

    [Theory]
    [MemberData(nameof(CalendarEdges))]
    public void WindowOf_CalendarWindowAcrossZonesAndDst_StartsAtTheLocalPeriodStart(CalendarPeriod period, string zoneId, DateTimeOffset now, DateTimeOffset expected)
    {
        var kpi = Kpi("<= 2", window: Window.OfCalendar(period));
        var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);

        var (from, to) = KpiEvaluator.WindowOf(kpi, now, zone);

        Assert.Equal(expected.UtcDateTime, from.UtcDateTime);
        Assert.Equal(now, to);
    }

    [Fact]
    public void WindowOf_RollingWindowOverDstChange_IsExactElapsedTime()
    {
        // A rolling day across Berlin's spring-forward is 24 real hours, not a calendar day of 23.
        var now = new DateTimeOffset(2026, 3, 29, 12, 0, 0, TimeSpan.Zero);

        var (from, to) = KpiEvaluator.WindowOf(Kpi("<= 2", window: Window.OfDuration(TimeSpan.FromDays(1))), now, Berlin);

        Assert.Equal(new DateTimeOffset(2026, 3, 28, 12, 0, 0, TimeSpan.Zero), from);
        Assert.Equal(now, to);
    }

    [Fact]
    public void WindowOf_QuarterWindowAsTheClockCrossesTheQuarterInLosAngeles_MovesAtLocalMidnight()
    {
        var kpi = Kpi("<= 2", window: Window.OfCalendar(CalendarPeriod.Quarter));
        var time = new FakeTimeProvider(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var starts = new List<DateTimeOffset>();
        for (var i = 0; i < 10; i++)
        {
            starts.Add(KpiEvaluator.WindowOf(kpi, time.GetUtcNow(), LosAngeles).From);
            time.Advance(TimeSpan.FromHours(1));
        }

        // 00:00Z .. 07:00Z are still 2026-Q4 locally; from 08:00Z (midnight PST) the window is 2027-Q1.
        var q4 = new DateTimeOffset(2026, 10, 1, 7, 0, 0, TimeSpan.Zero);
        var q1 = new DateTimeOffset(2027, 1, 1, 8, 0, 0, TimeSpan.Zero);
        Assert.Equal(Enumerable.Repeat(q4, 8).Concat(Enumerable.Repeat(q1, 2)), starts.Select(s => s.ToUniversalTime()));
    }
}
