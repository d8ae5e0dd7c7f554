using System.Globalization;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;

namespace Roadmap.Worker.Reporting;

/// <summary>Why a KPI is not met, as the API, the board and the reports say it (docs/KPI.md, "Why a KPI is not met").</summary>
/// <param name="Code">One of source_failing, no_data, baseline_pending, low_coverage, short_history, misses_target.</param>
/// <param name="Text">The same in one sentence, for people.</param>
/// <param name="Since">source_failing: when the run of failed polls began; else null.</param>
/// <param name="Error">source_failing: the last poll's failure reason, with the source's secrets redacted; else null.</param>
/// <param name="Shortfall">How far the value is from the target, positive, in the value's scale (a ratio's fraction);
/// null when the value or the target is unknown or the value meets it.</param>
public sealed record KpiReasonView(string Code, string Text, DateTimeOffset? Since, string? Error, double? Shortfall);

/// <summary>The sentences of <see cref="KpiReasonView"/>: one per reason code, from the judgement's figures.</summary>
internal static class KpiReasonText
{
    /// <summary>The reason of a judged KPI in words; null when it is met or not evaluated yet.</summary>
    public static KpiReasonView? Of(KpiConfig kpi, KpiEvaluation? evaluation)
    {
        if (evaluation?.Reason is not { } reason)
        {
            return null;
        }

        var shortfall = reason.Shortfall is { } s && double.IsFinite(s) ? s : (double?)null;
        var miss = Miss(kpi, evaluation, shortfall);
        var text = reason.Code switch
        {
            KpiReasonCode.SourceFailing =>
                $"its source {kpi.Source} has failed every poll since {When(reason.Since)}: {reason.Error ?? "no reason recorded"}" +
                (evaluation.Value is null ? "" : $"; {miss}"),
            KpiReasonCode.NoData => $"no data: {evaluation.Note}",
            KpiReasonCode.BaselinePending => kpi.Baseline is { From: { } from, To: { } to }
                ? $"baseline pending: the baseline period {ReportText.Date(from)} to {ReportText.Date(to)} has no value yet, so the target is unknown"
                : "baseline pending: the baseline has no value yet, so the target is unknown",
            KpiReasonCode.LowCoverage =>
                $"only {WindowCoverage.Describe(evaluation.Observed)} of its {kpi.Window} window observed " +
                $"({Percent(evaluation.Coverage)}, under {Percent(KpiReasons.LowCoverage)}); so far {miss}",
            KpiReasonCode.ShortHistory =>
                $"{miss}, and too little history to forecast it by {(kpi.Deadline is { } d ? ReportText.Date(d) : "the deadline")} " +
                $"(a forecast needs {Forecast.MinPoints} stored evaluations over at least {Durations.Format(Forecast.MinSpan)})",
            _ => miss,
        };
        return new KpiReasonView(reason.Code.Label(), text, reason.Since?.ToUniversalTime(), reason.Error, shortfall);
    }

    /// <summary>"99.2% misses the target >= 99.9% by 0.7 percentage points", in the KPI's unit.</summary>
    private static string Miss(KpiConfig kpi, KpiEvaluation e, double? shortfall)
    {
        var value = ReportText.Number(e.Value, kpi.Unit);
        var target = e.Target is { } t && kpi.Target.IsRelative ? $"{kpi.Target.Text} (= {ReportText.Number(t, kpi.Unit)})" : kpi.Target.Text;
        return shortfall is { } by
            ? $"{value} misses the target {target} by {By(by, kpi.Unit)}"
            : $"{value} against the target {target}";
    }

    // A difference of percentages is in percentage points, not percent.
    private static string By(double shortfall, string? unit) => unit switch
    {
        "ratio" => $"{General(shortfall * 100)} percentage points",
        "percent" => $"{General(shortfall)} percentage points",
        _ => ReportText.Number(shortfall, unit),
    };

    private static string When(DateTimeOffset? at) =>
        at is { } t ? t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "its first poll";

    private static string Percent(double ratio) => (ratio * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";

    private static string General(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
