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
/// A target: <c>"OP NUMBER"</c>, <c>"OP NUMBER%"</c> (percent / 100) or, relative to the KPI's baseline,
/// <c>"OP baseline + N%"</c>, <c>"OP baseline - N%"</c> (or an absolute N without %), or <c>"OP baseline"</c>.
/// </summary>
/// <param name="Value">The absolute threshold; null for a relative target until a baseline is applied.</param>
/// <param name="RelativeDelta">For relative targets: the signed change, as a fraction when <paramref name="RelativeIsPercent"/>.</param>
public sealed partial record Target(Comparison Op, double? Value, double RelativeDelta, bool RelativeIsPercent, string Text)
{
    public const string Expected = "expected \"OP NUMBER\", \"OP NUMBER%\" or \"OP baseline +/- N[%]\", OP one of >=, >, <=, <, ==";

    public bool IsRelative => Value is null;

    public static bool TryParse(string text, out Target target)
    {
        target = null!;
        var m = Pattern().Match(text);
        if (!m.Success)
        {
            return false;
        }

        var op = m.Groups["op"].Value switch
        {
            ">=" => Comparison.GreaterOrEqual,
            ">" => Comparison.Greater,
            "<=" => Comparison.LessOrEqual,
            "<" => Comparison.Less,
            _ => Comparison.Equal,
        };
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

    [GeneratedRegex(@"^\s*(?<op>>=|<=|==|>|<)\s*(?:(?<base>baseline)\s*(?:(?<sign>[+\-])\s*(?<num>[0-9]+(?:\.[0-9]+)?(?:[eE][+\-]?[0-9]+)?)\s*(?<pct>%)?)?|(?<sign>-)?(?<num>[0-9]+(?:\.[0-9]+)?(?:[eE][+\-]?[0-9]+)?|\.[0-9]+)\s*(?<pct>%)?)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
