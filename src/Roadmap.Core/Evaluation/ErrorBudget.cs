using Roadmap.Core.Config;

namespace Roadmap.Core.Evaluation;

/// <summary>The error budget of a ratio objective, as in the SRE workbook.</summary>
public static class ErrorBudget
{
    /// <summary>
    /// For a KPI whose value is a ratio (0..1) held to a <c>&gt;=</c> or <c>&gt;</c> target below 1 (e.g. uptime
    /// ">= 99.9%"): remaining = 1 - (1 - value) / (1 - target). 1 is untouched, 0 is spent, negative is overspent.
    /// Null for any other KPI.
    /// </summary>
    public static double? Remaining(Comparison op, double? value, double? target)
    {
        if (op is not (Comparison.GreaterOrEqual or Comparison.Greater) || value is not { } v || target is not { } t
            || t is <= 0 or >= 1 || v is < 0 or > 1)
        {
            return null;
        }

        return 1 - ((1 - v) / (1 - t));
    }
}
