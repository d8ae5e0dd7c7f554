namespace Roadmap.Core.Config;

/// <summary>Calendar windows start at the beginning of the current period in the roadmap's time zone.</summary>
public enum CalendarPeriod
{
    Day,
    Week,
    Month,
    Quarter,
}

/// <summary>The span of samples a KPI aggregates: a rolling duration before now, or a calendar period so far.</summary>
public sealed record Window(TimeSpan? Rolling, CalendarPeriod? Calendar)
{
    public static Window OfDuration(TimeSpan d) => new(d, null);

    public static Window OfCalendar(CalendarPeriod p) => new(null, p);

    public static bool TryParse(string text, out Window window)
    {
        window = null!;
        var t = text.Trim();
        // Exact names only: Enum.TryParse would take "day, week" (flags) and "1" (numbers).
        var name = Enum.GetNames<CalendarPeriod>().FirstOrDefault(n => n.Equals(t, StringComparison.OrdinalIgnoreCase));
        if (name is not null)
        {
            window = OfCalendar(Enum.Parse<CalendarPeriod>(name));
            return true;
        }

        if (Durations.TryParse(t, out var d))
        {
            window = OfDuration(d);
            return true;
        }

        return false;
    }

    /// <summary>The first instant inside the window at <paramref name="now"/>.</summary>
    public DateTimeOffset StartAt(DateTimeOffset now, TimeZoneInfo zone)
    {
        if (Rolling is { } r)
        {
            return now - r;
        }

        var local = TimeZoneInfo.ConvertTime(now, zone);
        var date = DateOnly.FromDateTime(local.DateTime);
        var first = Calendar switch
        {
            CalendarPeriod.Day => date,
            // ISO weeks start on Monday.
            CalendarPeriod.Week => date.AddDays(-(((int)date.DayOfWeek + 6) % 7)),
            CalendarPeriod.Month => new DateOnly(date.Year, date.Month, 1),
            CalendarPeriod.Quarter => new DateOnly(date.Year, ((date.Month - 1) / 3 * 3) + 1, 1),
            _ => throw new InvalidOperationException("a window is rolling or calendar"),
        };
        return Dates.StartOfDay(first, zone);
    }

    public override string ToString() =>
        Rolling is { } r ? Durations.Format(r) : Calendar!.Value.ToString().ToLowerInvariant();
}
