using System.Globalization;
using System.Text;

namespace Roadmap.Core.Config;

/// <summary>Durations as written in the config: one or more NUMBER UNIT pairs, e.g. <c>15s</c>, <c>1h30m</c>, <c>500ms</c>.</summary>
public static class Durations
{
    /// <summary>The units understood, longest first so that "ms" wins over "m".</summary>
    private static readonly (string Unit, TimeSpan Size)[] Units =
    [
        ("ms", TimeSpan.FromMilliseconds(1)),
        ("s", TimeSpan.FromSeconds(1)),
        ("m", TimeSpan.FromMinutes(1)),
        ("h", TimeSpan.FromHours(1)),
        ("d", TimeSpan.FromDays(1)),
        ("w", TimeSpan.FromDays(7)),
    ];

    public const string Expected = "expected a number and a unit (ms, s, m, h, d, w), e.g. 15s or 1h30m";

    /// <summary>Why <paramref name="text"/> is not a duration, for an error message; null when it is one.</summary>
    public static string? Problem(string text)
    {
        if (TryParse(text, out _))
        {
            return null;
        }

        if (TryParseAnyLength(text, out _))
        {
            return $"must be at most {Format(Max)} (100 years)";
        }

        var zero = text.Trim().TrimEnd('m', 's', 'h', 'd', 'w');
        return zero.Length > 0 && zero.All(c => c is '0' or '.') ? "must be longer than zero" : Expected;
    }

    /// <summary>
    /// The longest duration accepted: 36500d. A window of 29,000 years parsed, and then overflowed the evaluator's
    /// "now - window"; nothing a roadmap measures needs more than a century.
    /// </summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(36_500);

    /// <summary>Parses a duration; false for anything else, including zero, a negative value, or more than <see cref="Max"/>.</summary>
    public static bool TryParse(string text, out TimeSpan value) => TryParseAnyLength(text, out value) && value <= Max;

    private static bool TryParseAnyLength(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var s = text.Trim();
        if (s.Length == 0)
        {
            return false;
        }

        var i = 0;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }

            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }

            var unit = Units.FirstOrDefault(u => string.CompareOrdinal(s, i, u.Unit, 0, u.Unit.Length) == 0
                && (u.Unit != "m" || i + 1 >= s.Length || s[i + 1] != 's'));
            if (unit.Unit is null)
            {
                return false;
            }

            i += unit.Unit.Length;
            var ticks = unit.Size.Ticks * number;
            // Beyond ~29,000 years is a typo, not a duration; below a millisecond cannot be written back.
            if (!double.IsFinite(ticks) || ticks > TimeSpan.MaxValue.Ticks - value.Ticks || ticks % TimeSpan.TicksPerMillisecond != 0)
            {
                return false;
            }

            value += TimeSpan.FromTicks((long)ticks);
        }

        return value > TimeSpan.Zero;
    }

    /// <summary>The shortest config form of a duration, e.g. 90 s is "1m30s".</summary>
    public static string Format(TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            return "0s";
        }

        var sb = new StringBuilder();
        var rest = value;
        foreach (var (unit, size) in Units.Reverse().Where(u => u.Unit != "w"))
        {
            var n = (long)(rest.Ticks / size.Ticks);
            if (n > 0)
            {
                sb.Append(n.ToString(CultureInfo.InvariantCulture)).Append(unit);
                rest -= size * n;
            }
        }

        return sb.ToString();
    }
}
