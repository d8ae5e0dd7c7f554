using System.Globalization;
using System.Net;
using System.Text;

namespace Roadmap.Worker.Reporting.Svg;

/// <summary>The size of a drawn trend, in CSS pixels (the SVG's viewBox units).</summary>
/// <param name="Labels">Print the value range and the dates at the edges (the initiative page's chart).</param>
public sealed record TrendSize(double Width, double Height, bool Labels)
{
    /// <summary>The board's inline sparkline: 200 × 40.</summary>
    public static readonly TrendSize Inline = new(200, 40, false);

    /// <summary>The initiative page's chart: 720 × 180, with labels.</summary>
    public static readonly TrendSize Chart = new(720, 180, true);
}

/// <summary>
/// A KPI's trend as inline SVG (no script, no external asset): its stored values over the span as a line, the target as
/// a dashed line across, the latest point coloured by status, and, when the deadline is ahead and there is a forecast,
/// a forecast segment from the latest value to the forecast at the deadline with its 80% band. Time runs left to right
/// over the history's part of the width (all of it without a forecast, else <see cref="HistoryShare"/>); the forecast
/// part to the right is not on the same time scale, since a deadline can be months away. Values run bottom to top over
/// the range of the values, the target and the forecast band.
/// </summary>
public static class Sparkline
{
    /// <summary>The share of the width the history takes when a forecast follows it. 0.75.</summary>
    public const double HistoryShare = 0.75;

    /// <summary>CSS for the classes the trend uses.</summary>
    public const string Css = """
        svg.spark { display: block; margin-top: 4px; max-width: 100%; height: auto; overflow: visible; }
        .spark-line { fill: none; stroke: #0550ae; stroke-width: 1.5; stroke-linejoin: round; }
        .spark-target { stroke: #a40e26; stroke-width: 1; stroke-dasharray: 4 3; }
        .spark-forecast { stroke: #6e40c9; stroke-width: 1.5; stroke-dasharray: 3 2; }
        .spark-band { fill: #c297ff; fill-opacity: 0.35; stroke: none; }
        .spark-now { stroke: #59636e; stroke-width: 1; stroke-dasharray: 1 2; }
        .spark-dot { stroke: #fff; stroke-width: 1; }
        .spark-dot.s-met { fill: #1a7f37; } .spark-dot.s-on_track { fill: #0969da; } .spark-dot.s-at_risk { fill: #bf8700; }
        .spark-dot.s-missed { fill: #cf222e; } .spark-dot.s-no_data, .spark-dot.s-none { fill: #6e7781; }
        .spark-label { font-size: 11px; fill: #59636e; }
        .spark-empty { font-size: 12px; color: #59636e; }
        """;

    private const double Pad = 4;
    private const double LabelBand = 16;

    /// <summary>Appends the SVG, or a line saying there is no stored value in the span yet.</summary>
    public static void Render(StringBuilder h, KpiView k, Trail trail, TrendSize size)
    {
        var values = trail.Points.Where(p => p.Value is { } v && double.IsFinite(v)).ToList();
        if (values.Count == 0)
        {
            h.Append("<span class=\"spark-empty\" data-trend=\"").Append(E(k.Id)).Append("\">no stored value since ")
                .Append(ReportText.Instant(trail.From)).Append(" yet</span>");
            return;
        }

        var last = values[^1].Value!.Value;
        var forecast = k is { Forecast: { } f, Deadline: { } d } && d > trail.To
            ? new ForecastMark(f, k.ForecastLower ?? f, k.ForecastUpper ?? f, d)
            : null;
        var domain = values.Select(p => p.Value!.Value).Append(k.TargetValue ?? double.NaN);
        if (forecast is { } fc)
        {
            domain = domain.Append(fc.Value).Append(fc.Lower).Append(fc.Upper);
        }

        var (lo, hi) = Range(domain.Where(double.IsFinite).ToList());
        var (w, hgt) = (size.Width, size.Height);
        var left = Pad;
        var right = w - Pad;
        var top = Pad;
        var bottom = hgt - Pad - (size.Labels ? LabelBand : 0);
        var historyRight = forecast is null ? right : left + ((right - left) * HistoryShare);
        var fromMs = trail.From.ToUnixTimeMilliseconds();
        var spanMs = Math.Max(1, trail.To.ToUnixTimeMilliseconds() - fromMs);
        double X(long ts) => left + ((historyRight - left) * Math.Clamp((ts - fromMs) / (double)spanMs, 0, 1));
        double Y(double v) => top + ((bottom - top) * (hi - v) / (hi - lo));

        h.Append("<svg class=\"spark\" data-trend=\"").Append(E(k.Id)).Append("\" data-from=\"").Append(ReportText.Instant(trail.From))
            .Append("\" data-to=\"").Append(ReportText.Instant(trail.To)).Append("\" viewBox=\"0 0 ").Append(N(w)).Append(' ').Append(N(hgt))
            .Append("\" width=\"").Append(N(w)).Append("\" height=\"").Append(N(hgt)).Append("\" role=\"img\" aria-label=\"");
        var label = Describe(k, trail, values.Count, forecast is not null);
        h.Append(E(label)).Append("\"><title>").Append(E(label)).Append("</title>");
        if (k.TargetValue is { } t && double.IsFinite(t))
        {
            h.Append("<line class=\"spark-target\" x1=\"").Append(N(left)).Append("\" x2=\"").Append(N(right)).Append("\" y1=\"").Append(N(Y(t)))
                .Append("\" y2=\"").Append(N(Y(t))).Append("\"/>");
        }

        var nowX = X(trail.To.ToUnixTimeMilliseconds());
        if (forecast is { } g)
        {
            h.Append("<line class=\"spark-now\" x1=\"").Append(N(nowX)).Append("\" x2=\"").Append(N(nowX)).Append("\" y1=\"").Append(N(top))
                .Append("\" y2=\"").Append(N(bottom)).Append("\"/>");
            h.Append("<polygon class=\"spark-band\" points=\"").Append(N(nowX)).Append(',').Append(N(Y(last))).Append(' ')
                .Append(N(right)).Append(',').Append(N(Y(g.Upper))).Append(' ').Append(N(right)).Append(',').Append(N(Y(g.Lower))).Append("\"/>");
            h.Append("<line class=\"spark-forecast\" x1=\"").Append(N(nowX)).Append("\" y1=\"").Append(N(Y(last))).Append("\" x2=\"")
                .Append(N(right)).Append("\" y2=\"").Append(N(Y(g.Value))).Append("\"/>");
        }

        h.Append("<polyline class=\"spark-line\" points=\"");
        for (var n = 0; n < values.Count; n++)
        {
            h.Append(n == 0 ? "" : " ").Append(N(X(values[n].TimestampMs))).Append(',').Append(N(Y(values[n].Value!.Value)));
        }

        h.Append("\"/>");
        var status = k.Status ?? values[^1].Status;
        h.Append("<circle class=\"spark-dot s-").Append(E(status)).Append("\" cx=\"").Append(N(X(values[^1].TimestampMs))).Append("\" cy=\"")
            .Append(N(Y(last))).Append("\" r=\"3\"/>");
        if (size.Labels)
        {
            Labels(h, k, trail, forecast?.Deadline, (lo, hi), (left, right, top, bottom, hgt));
        }

        h.Append("</svg>");
    }

    private static void Labels(StringBuilder h, KpiView k, Trail trail, DateTimeOffset? deadline, (double Lo, double Hi) range, (double Left, double Right, double Top, double Bottom, double Height) box)
    {
        var baseline = N(box.Height - 4);
        Text(h, box.Left, baseline, "start", ReportText.Instant(trail.From)[..16].Replace('T', ' '));
        Text(h, box.Right, baseline, "end", deadline is { } d ? $"deadline {ReportText.Instant(d)[..10]}" : ReportText.Instant(trail.To)[..16].Replace('T', ' '));
        Text(h, box.Left + 2, N(box.Top + 10), "start", ReportText.Number(range.Hi, k.Unit));
        Text(h, box.Left + 2, N(box.Bottom - 2), "start", ReportText.Number(range.Lo, k.Unit));

        static void Text(StringBuilder h, double x, string y, string anchor, string text) =>
            h.Append("<text class=\"spark-label\" x=\"").Append(N(x)).Append("\" y=\"").Append(y).Append("\" text-anchor=\"").Append(anchor).Append("\">")
                .Append(E(text)).Append("</text>");
    }

    private static string Describe(KpiView k, Trail trail, int count, bool forecast)
    {
        var s = new StringBuilder();
        s.Append(k.Name).Append(": ").Append(count.ToString(CultureInfo.InvariantCulture)).Append(count == 1 ? " stored value" : " stored values")
            .Append(" from ").Append(ReportText.Instant(trail.From)).Append(" to ").Append(ReportText.Instant(trail.To))
            .Append("; target ").Append(ReportText.Target(k));
        if (forecast)
        {
            s.Append("; forecast ").Append(ReportText.Number(k.Forecast, k.Unit)).Append(" (80%: ").Append(ReportText.Number(k.ForecastLower, k.Unit))
                .Append(" to ").Append(ReportText.Number(k.ForecastUpper, k.Unit)).Append(')').Append(ReportText.By(k));
        }

        return s.ToString();
    }

    /// <summary>The value range drawn: the values' own, widened when flat so a constant line sits mid-height.</summary>
    private static (double Lo, double Hi) Range(IReadOnlyList<double> values)
    {
        var (lo, hi) = (values.Min(), values.Max());
        if (hi - lo > Math.Max(Math.Abs(hi), Math.Abs(lo)) * 1e-9)
        {
            return (lo, hi);
        }

        var spread = lo == 0 ? 1 : Math.Abs(lo) * 0.1;
        return (lo - spread, hi + spread);
    }

    private sealed record ForecastMark(double Value, double Lower, double Upper, DateTimeOffset Deadline);

    /// <summary>A coordinate with two decimals at most, invariant culture.</summary>
    internal static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
