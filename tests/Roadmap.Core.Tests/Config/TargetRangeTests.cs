using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

/// <summary>Targets outside the range a KPI's value can take: errors with the fix, or a warning for a percent on a count.</summary>
public sealed class TargetRangeTests
{
    private sealed class Spec : ISourceKindSpec
    {
        public string Kind => "probe";

        public object Bind(ConfigSection section) => new();

        public IReadOnlyList<string> Signals(object options) => ["up", "hit_ratio", "hits", "misses", "count", "errors_total", "latency_seconds", "value"];
    }

    /// <param name="kpi">The KPI's keys after <c>id</c> and <c>source</c>, as flow YAML.</param>
    private static ConfigLoadResult Load(string kpi) => new ConfigLoader([new Spec()], _ => null).Load(
        $$"""
        roadmap: { name: R }
        sources:
          - { id: s, kind: probe }
        initiatives:
          - id: i
            name: I
            kpis:
              - { id: k, source: s, window: 1h, {{kpi}} }
        """,
        "r.yaml");

    [Theory]
    [InlineData("signal: up, target: \">= 99.9\"", "target \">= 99.9\" compares the avg of up, which lies between 0 and 1, with 99.9: it can never be met; did you mean \">= 99.9%\"?")]
    [InlineData("signal: up, aggregate: min, target: \"> 1\"", "target \"> 1\" compares the min of up, which lies between 0 and 1, with 1: it can never be met")]
    [InlineData("signal: hit_ratio, aggregate: last, target: \"<= 150\"", "target \"<= 150\" compares the last of hit_ratio, which lies between 0 and 1, with 150: it is always met; write a fraction such as 0.999 or a percent such as 99.9%")]
    [InlineData("aggregate: ratio, numerator: hits, denominator: [hits, misses], target: \">= 90\"", "target \">= 90\" compares the ratio of hits, which lies between 0 and 1, with 90: it can never be met; did you mean \">= 90%\"?")]
    [InlineData("signal: latency_seconds, unit: ratio, target: \">= -0.5\"", "target \">= -0.5\" compares the avg of latency_seconds, which lies between 0 and 1, with -0.5: it is always met; write a fraction such as 0.999 or a percent such as 99.9%")]
    [InlineData("signal: up, target: \">= 150%\"", "target \">= 150%\" compares the avg of up, which lies between 0 and 1, with 1.5: it can never be met; write a fraction such as 0.999 or a percent such as 99.9%")]
    [InlineData("signal: count, aggregate: last, target: \"< 0\"", "target \"< 0\" compares the last of count, which is never negative, with 0: it can never be met")]
    [InlineData("signal: latency_seconds, aggregate: p95, target: \"< 0\"", "target \"< 0\" compares the p95 of latency_seconds, which is never negative, with 0: it can never be met")]
    [InlineData("signal: value, unit: percent, target: \">= 150\"", "target \">= 150\" compares the avg of value, which lies between 0 and 100, with 150: it can never be met")]
    [InlineData("signal: errors_total, aggregate: increase, target: \"<= -1\"", "target \"<= -1\" compares the increase of errors_total, which is never negative, with -1: it can never be met")]
    public void Load_TargetOutsideTheValuesRange_IsAnErrorThatSaysWhyAndTheFix(string kpi, string message)
    {
        var result = Load(kpi);

        var error = Assert.Single(result.Errors);
        Assert.Equal($"initiatives[i].kpis[k].target: {message}", error.Message);
        Assert.Equal(8, error.Line);
    }

    [Theory]
    [InlineData("signal: up, target: \">= 99.9%\"")]
    [InlineData("signal: up, target: \">= 0.999\"")]
    [InlineData("signal: up, aggregate: max, target: \">= 1\"")]
    [InlineData("signal: up, aggregate: sum, target: \">= 100\"")] // a sum of up counts probes: no range
    [InlineData("signal: hit_ratio, target: \">= 90%\"")]
    [InlineData("signal: latency_seconds, aggregate: p95, target: \"<= 150\"")] // no known range
    [InlineData("signal: value, target: \">= -5\"")]
    [InlineData("signal: count, aggregate: last, target: \"== 0\"")]
    [InlineData("signal: errors_total, aggregate: rate, target: \"<= 0.5%\"")] // a rate is not a count
    public void Load_TargetInsideTheRangeOrRangeUnknown_IsValidWithoutWarning(string kpi)
    {
        var result = Load(kpi);

        Assert.Empty(result.Errors);
        Assert.True(result.IsValid);
        Assert.Empty(result.Warnings);
    }

    [Theory]
    [InlineData("signal: count, aggregate: last, target: \"<= 1%\"", "target \"<= 1%\" is the fraction 0.01, but the last of count is a number of events: did you mean \"<= 1\"?")]
    [InlineData("signal: latency_seconds, aggregate: count, target: \">= 5%\"", "target \">= 5%\" is the fraction 0.05, but the count of latency_seconds is a number of events: did you mean \">= 5\"?")]
    public void Load_PercentTargetOnACount_IsValidWithAWarning(string kpi, string message)
    {
        var result = Load(kpi);

        Assert.True(result.IsValid);
        var warning = Assert.Single(result.Warnings);
        Assert.Equal($"initiatives[i].kpis[k].target: {message}", warning.Message);
        Assert.Equal($"r.yaml:8:{warning.Column}: warning: initiatives[i].kpis[k].target: {message}", Assert.Single(result.WarningLines()));
    }
}
