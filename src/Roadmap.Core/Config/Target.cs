using System.Globalization;
using System.Text.RegularExpressions;

namespace Roadmap.Core.Config;

public enum Comparison
{
    GreaterOrEqual,
    Greater,
    LessOrEqual,
    Less,
    Equal,
}

/// <summary>
/// A target: <c>"OP NUMBER"</c>, <c>"OP NUMBER%"</c> (percent / 100), <c>"OP DURATION"</c> (<c>">= 14d"</c>, in seconds:
/// only for a KPI whose value is in seconds, see <see cref="DurationProblem"/>) or, relative to the KPI's baseline,
/// <c>"OP baseline + N%"</c>, <c>"OP baseline - N%"</c> (or an absolute N without %), or <c>"OP baseline"</c>.
/// </summary>
/// <param name="Value">The absolute threshold; null for a relative target until a baseline is applied.</param>
/// <param name="RelativeDelta">For relative targets: the signed change, as a fraction when <paramref name="RelativeIsPercent"/>.</param>
public sealed partial record Target(Comparison Op, double? Value, double RelativeDelta, bool RelativeIsPercent, string Text)
{
    public const string Expected = "expected \"OP NUMBER\", \"OP NUMBER%\" or \"OP baseline +/- N[%]\", OP one of >=, >, <=, <, ==";

    public bool IsRelative => Value is null;

    /// <summary>Written as a duration (<c>">= 14d"</c>); <see cref="Value"/> is its length in seconds.</summary>
    public bool IsDuration { get; init; }

    /// <summary>
    /// Parses <c>"OP DURATION"</c>, a duration as every duration in the config is written (<c>14d</c>, <c>1h30m</c>,
    /// <c>250ms</c>; <see cref="Durations"/>), into a target of that many seconds. The caller checks the KPI's value is
    /// in seconds (<see cref="DurationProblem"/>).
    /// </summary>
    public static bool TryParseDuration(string text, out Target target)
    {
        target = null!;
        var m = DurationPattern().Match(text);
        if (!m.Success || !Durations.TryParse(m.Groups["duration"].Value, out var duration))
        {
            return false;
        }

        var op = Operator(m.Groups["op"].Value);
        target = new Target(op, duration.TotalSeconds, 0, false, text.Trim()) { IsDuration = true };
        return true;
    }

    /// <summary>
    /// Why a duration target does not fit a KPI; null when it does. It fits when the KPI's value is in seconds: the
    /// signal's name ends in <c>_seconds</c> (Prometheus' naming, as every duration signal of Roadmap's kinds) or the
    /// KPI says <c>unit: seconds</c>, and the aggregate keeps the signal's unit (not <c>count</c>, <c>rate</c> or
    /// <c>ratio</c>). Anywhere else a duration would be a number of seconds compared with something that is not.
    /// </summary>
    public static string? DurationProblem(Aggregate aggregate, string signal, string? unit)
    {
        ArgumentNullException.ThrowIfNull(signal);
        var seconds = signal.EndsWith("_seconds", StringComparison.Ordinal) || string.Equals(unit?.Trim(), "seconds", StringComparison.OrdinalIgnoreCase);
        if (!seconds)
        {
            return $"a duration target is for a value in seconds: a signal named *_seconds (or unit: seconds), and {signal} is neither; write a number";
        }

        return aggregate is Aggregate.Count or Aggregate.Rate or Aggregate.Ratio
            ? $"a duration target is for a value in seconds, and aggregate {aggregate.Name()} of {signal} is not one; write a number"
            : null;
    }

    public static bool TryParse(string text, out Target target)
    {
        target = null!;
        var m = Pattern().Match(text);
        if (!m.Success)
        {
            return false;
        }

        var op = Operator(m.Groups["op"].Value);
        var percent = m.Groups["pct"].Success;
        if (m.Groups["base"].Success)
        {
            if (!m.Groups["num"].Success)
            {
                target = new Target(op, null, 0, false, text.Trim());
                return true;
            }

            var delta = Number(m) * (m.Groups["sign"].Value == "-" ? -1 : 1);
            target = new Target(op, null, delta, percent, text.Trim());
            // "baseline - 1e400" overflows to -Infinity: no threshold could ever be compared with it.
            return double.IsFinite(delta);
        }

        var value = Number(m) * (m.Groups["sign"].Value == "-" ? -1 : 1);
        target = new Target(op, value, 0, false, text.Trim());
        return double.IsFinite(value);
    }

    private static Comparison Operator(string symbol) => symbol switch
    {
        ">=" => Comparison.GreaterOrEqual,
        ">" => Comparison.Greater,
        "<=" => Comparison.LessOrEqual,
        "<" => Comparison.Less,
        _ => Comparison.Equal,
    };

    private static double Number(Match m)
    {
        var text = m.Groups["num"].Value;
        // Percent in decimal, so "99.9%" is exactly 0.999 and not 0.9990000000000001.
        if (m.Groups["pct"].Success && decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
        {
            return (double)(d / 100);
        }

        var n = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        return m.Groups["pct"].Success ? n / 100 : n;
    }

    /// <summary>The absolute threshold once the baseline is known.</summary>
    public double Resolve(double? baseline)
    {
        if (Value is { } v)
        {
            return v;
        }

        if (baseline is not { } b)
        {
            return double.NaN;
        }

        return RelativeIsPercent ? b * (1 + RelativeDelta) : b + RelativeDelta;
    }

    public static bool Satisfies(Comparison op, double value, double threshold) => op switch
    {
        Comparison.GreaterOrEqual => value >= threshold,
        Comparison.Greater => value > threshold,
        Comparison.LessOrEqual => value <= threshold,
        Comparison.Less => value < threshold,
        _ => value.Equals(threshold),
    };

    public static string Symbol(Comparison op) => op switch
    {
        Comparison.GreaterOrEqual => ">=",
        Comparison.Greater => ">",
        Comparison.LessOrEqual => "<=",
        Comparison.Less => "<",
        _ => "==",
    };

    public override string ToString() => Text;

    [GeneratedRegex(@"^\s*(?<op>>=|<=|==|>|<)\s*(?<duration>(?:[0-9.]+\s*(?:ms|s|m|h|d|w)\s*)+)$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"^\s*(?<op>>=|<=|==|>|<)\s*(?:(?<base>baseline)\s*(?:(?<sign>[+\-])\s*(?<num>[0-9]+(?:\.[0-9]+)?(?:[eE][+\-]?[0-9]+)?)\s*(?<pct>%)?)?|(?<sign>-)?(?<num>[0-9]+(?:\.[0-9]+)?(?:[eE][+\-]?[0-9]+)?|\.[0-9]+)\s*(?<pct>%)?)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
