using Roadmap.Core.Config;

namespace Roadmap.Core.Evaluation;

/// <summary>Why a KPI is not met: a small closed set, in the order they are tried (docs/KPI.md, "Why a KPI is not met").</summary>
public enum KpiReasonCode
{
    /// <summary>The last poll of the KPI's source failed: its value is old or missing.</summary>
    SourceFailing,

    /// <summary>No usable sample in the window.</summary>
    NoData,

    /// <summary>A relative target whose baseline has no value yet.</summary>
    BaselinePending,

    /// <summary>Less than <see cref="KpiReasons.LowCoverage"/> of the window observed: the value stands on little data.</summary>
    LowCoverage,

    /// <summary>The target is not met yet and the history is too short to forecast the deadline (at_risk for that alone).</summary>
    ShortHistory,

    /// <summary>The value misses the target, by <see cref="KpiReason.Shortfall"/>.</summary>
    MissesTarget,
}

/// <summary>
/// What the poll path stored about a source, handed to the evaluator as data (the evaluator reads no database).
/// </summary>
/// <param name="LastPoll">When its last stored poll started.</param>
/// <param name="LastSuccess">When its last successful poll started; null when none is stored.</param>
/// <param name="FailingSince">When the run of failed polls that goes on now started (the first failed poll after the
/// last success, or the oldest stored poll when none succeeded); null when the last poll succeeded.</param>
/// <param name="LastError">The last failed poll's reason, redacted (<see cref="SourceConfig.Redact"/>); null when the last
/// poll succeeded.</param>
public sealed record SourceState(DateTimeOffset LastPoll, DateTimeOffset? LastSuccess, DateTimeOffset? FailingSince, string? LastError)
{
    /// <summary>Whether the last poll failed.</summary>
    public bool Failing => FailingSince is not null;
}

/// <summary>Why a KPI is not met, as data: the code and the figures a sentence about it needs.</summary>
/// <param name="Shortfall">How far the value is from the target, in the value's own scale (a ratio's fraction), always
/// positive; null when the value or the target is unknown, or the value meets the target.</param>
/// <param name="Since">For <see cref="KpiReasonCode.SourceFailing"/>: since when its polls fail.</param>
/// <param name="Error">For <see cref="KpiReasonCode.SourceFailing"/>: the last poll's failure reason, redacted.</param>
public sealed record KpiReason(KpiReasonCode Code, double? Shortfall = null, DateTimeOffset? Since = null, string? Error = null);

/// <summary>Picks the reason a judged KPI is not met. Pure.</summary>
public static class KpiReasons
{
    /// <summary>A window observed less than this share of its length is barely covered (<see cref="KpiReasonCode.LowCoverage"/>).
    /// 0.25: a quarter of a rolling window, or of a calendar period.</summary>
    public const double LowCoverage = 0.25;

    /// <summary>The snake_case code the API, the board and the reports show: source_failing, no_data, ...</summary>
    public static string Label(this KpiReasonCode code) => code switch
    {
        KpiReasonCode.SourceFailing => "source_failing",
        KpiReasonCode.NoData => "no_data",
        KpiReasonCode.BaselinePending => "baseline_pending",
        KpiReasonCode.LowCoverage => "low_coverage",
        KpiReasonCode.ShortHistory => "short_history",
        _ => "misses_target",
    };

    /// <summary>
    /// The first that holds of: its source failing, no data, baseline pending, low coverage, too little history to
    /// forecast, and the value missing the target. Null for a met KPI (and for a budget KPI judged met while its value
    /// is below the target: its budget holds, so nothing is wrong).
    /// </summary>
    /// <param name="source">What the poll path stored about the KPI's source; null when it never polled.</param>
    public static KpiReason? Of(KpiEvaluation evaluation, Comparison op, SourceState? source)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        if (evaluation.Status == KpiStatus.Met)
        {
            return null;
        }

        var shortfall = Shortfall(op, evaluation.Value, evaluation.Target);
        if (source is { Failing: true, FailingSince: var since })
        {
            return new KpiReason(KpiReasonCode.SourceFailing, shortfall, since, source.LastError);
        }

        if (evaluation.Value is null)
        {
            return new KpiReason(KpiReasonCode.NoData);
        }

        if (evaluation.Target is null)
        {
            return new KpiReason(KpiReasonCode.BaselinePending);
        }

        if (evaluation.Coverage < LowCoverage)
        {
            return new KpiReason(KpiReasonCode.LowCoverage, shortfall);
        }

        // at_risk with a deadline ahead and no forecast: the evaluator says at_risk only because it cannot forecast.
        if (evaluation is { Status: KpiStatus.AtRisk, Forecast: null, Deadline: { } due } && evaluation.At < due)
        {
            return new KpiReason(KpiReasonCode.ShortHistory, shortfall);
        }

        return new KpiReason(KpiReasonCode.MissesTarget, shortfall);
    }

    /// <summary>How far <paramref name="value"/> is from meeting <paramref name="target"/>, positive; null when either is
    /// unknown or the target is met. For a strict comparison met at equality's edge, 0.</summary>
    public static double? Shortfall(Comparison op, double? value, double? target)
    {
        if (value is not { } v || target is not { } t || !double.IsFinite(v) || !double.IsFinite(t) || Target.Satisfies(op, v, t))
        {
            return null;
        }

        return op switch
        {
            Comparison.GreaterOrEqual or Comparison.Greater => t - v,
            Comparison.LessOrEqual or Comparison.Less => v - t,
            _ => Math.Abs(v - t),
        };
    }
}
