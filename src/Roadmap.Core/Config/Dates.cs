using System.Globalization;
using System.Text.RegularExpressions;

namespace Roadmap.Core.Config;

/// <summary>Dates and quarters as written in the config, and the instants they stand for in a time zone.</summary>
public static partial class Dates
{
    /// <summary>The years a config date or quarter may name.</summary>
    /// <remarks>
    /// Bounded so that every instant derived from one fits a DateTimeOffset in any time zone: the end of the day
    /// after 9999-12-31, or the UTC start of 0001-01-01 east of Greenwich, is not representable and used to crash
    /// the evaluator long after the config was accepted.
    /// </remarks>
    public const int MinYear = 1900;

    /// <inheritdoc cref="MinYear"/>
    public const int MaxYear = 9998;

    public const string ExpectedDate = "expected a date as YYYY-MM-DD, from 1900-01-01 to 9998-12-31";
    public const string ExpectedQuarter = "expected a quarter as YYYY-Qn (n from 1 to 4), or { start: YYYY-MM-DD, due: YYYY-MM-DD }";

    public static bool TryParseDate(string text, out DateOnly date) =>
        DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date)
        && date.Year is >= MinYear and <= MaxYear;

    /// <summary>Parses "2027-Q1" (also "Q1 2027") into its first and last day.</summary>
    public static bool TryParseQuarter(string text, out DateOnly start, out DateOnly due)
    {
        start = due = default;
        var m = QuarterPattern().Match(text.Trim());
        if (!m.Success)
        {
            m = QuarterFirstPattern().Match(text.Trim());
            if (!m.Success)
            {
                return false;
            }
        }

        var year = int.Parse(m.Groups["y"].Value, CultureInfo.InvariantCulture);
        var q = int.Parse(m.Groups["q"].Value, CultureInfo.InvariantCulture);
        // 9999-Q4 would end past DateOnly.MaxValue (AddMonths threw here).
        if (q is < 1 or > 4 || year is < MinYear or > MaxYear)
        {
            return false;
        }

        start = new DateOnly(year, ((q - 1) * 3) + 1, 1);
        due = start.AddMonths(3).AddDays(-1);
        return true;
    }

    /// <summary>Midnight at the start of <paramref name="date"/> in <paramref name="zone"/>, DST gaps resolved forward.</summary>
    public static DateTimeOffset StartOfDay(DateOnly date, TimeZoneInfo zone)
    {
        var local = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(30);
        }

        return new DateTimeOffset(local, zone.GetUtcOffset(local));
    }

    /// <summary>The first instant after <paramref name="date"/> ends: a deadline date holds through its whole day.</summary>
    public static DateTimeOffset EndOfDay(DateOnly date, TimeZoneInfo zone) => StartOfDay(date.AddDays(1), zone);

    [GeneratedRegex(@"^(?<y>[0-9]{4})-?Q(?<q>[0-9])$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex QuarterPattern();

    [GeneratedRegex(@"^Q(?<q>[0-9])[ -](?<y>[0-9]{4})$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex QuarterFirstPattern();
}
