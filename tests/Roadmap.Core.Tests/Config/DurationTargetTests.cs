using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;

namespace Roadmap.Core.Tests.Config;

/// <summary>
/// Targets on durations: a certificate-expiry KPI written in seconds or as <c>">= 14d"</c>, loaded and judged end to
/// end; a duration target is refused where the KPI's value is not in seconds.
/// </summary>
public class DurationTargetTests
{
    private static readonly DateTimeOffset Now = new(2027, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A kind that emits what the http kind does over https, as far as these KPIs need.</summary>
    private sealed class ProbeKind : ISourceKindSpec
    {
        public string Kind => "probe";

        public object Bind(ConfigSection section) => new FakeSourceOptions(null);

        public IReadOnlyList<string> Signals(object options) => ["up", "cert_expiry_seconds", "redirects"];
    }

    // The target sits on line 12, its value at column 17.
    private static ConfigLoadResult Load(string target, string signal = "cert_expiry_seconds", string aggregate = "last", string unit = "") =>
        new ConfigLoader([new ProbeKind()], _ => null).Load(
            $"""
            roadmap: {"{"} name: r {"}"}
            sources:
              - {"{"} id: shop, kind: probe {"}"}
            initiatives:
              - id: tls
                name: TLS
                kpis:
                  - id: cert
                    source: shop
                    signal: {signal}
                    aggregate: {aggregate}
                    target: "{target}"
                    window: 1h{(unit.Length == 0 ? "" : $"\n        unit: {unit}")}
            """,
            "test.yaml");

    private static KpiConfig Kpi(ConfigLoadResult result)
    {
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        return Assert.Single(Assert.Single(result.Config!.Initiatives).Kpis);
    }

    private static KpiEvaluation Judge(KpiConfig kpi, double secondsLeft)
    {
        var at = Now.AddMinutes(-1).ToUnixTimeMilliseconds();
        return KpiEvaluator.Evaluate("tls", kpi, new KpiSamples([new Point(at, secondsLeft)], []), Now, TimeZoneInfo.Utc);
    }

    [Theory]
    [InlineData(">= 14d", Comparison.GreaterOrEqual, 1_209_600)]
    [InlineData("< 250ms", Comparison.Less, 0.25)]
    [InlineData("<= 1h30m", Comparison.LessOrEqual, 5400)]
    [InlineData(" > 2w ", Comparison.Greater, 1_209_600)]
    [InlineData("== 90s", Comparison.Equal, 90)]
    public void TryParseDuration_OperatorAndDuration_IsThatManySeconds(string text, Comparison op, double seconds)
    {
        Assert.True(Target.TryParseDuration(text, out var target));

        Assert.Equal(op, target.Op);
        Assert.Equal(seconds, target.Value);
        Assert.True(target.IsDuration);
        Assert.Equal(text.Trim(), target.Text);
    }

    [Theory]
    [InlineData(">= 14")]
    [InlineData(">= 14x")]
    [InlineData(">= 0s")]
    [InlineData("14d")]
    [InlineData(">= -14d")]
    [InlineData(">= 36501d")]
    public void TryParseDuration_NotAnOperatorAndAPositiveDuration_IsRefused(string text)
    {
        Assert.False(Target.TryParseDuration(text, out _));
    }

    [Theory]
    [InlineData(">= 1209600")]
    [InlineData(">= 14d")]
    [InlineData(">= 2w")]
    public void Load_CertificateExpiryKpi_IsMetWithAMonthLeftAndMissedWithThreeDays(string target)
    {
        var kpi = Kpi(Load(target));

        var month = Judge(kpi, TimeSpan.FromDays(30).TotalSeconds);
        var threeDays = Judge(kpi, TimeSpan.FromDays(3).TotalSeconds);

        Assert.Equal(1_209_600, kpi.Target.Value);
        Assert.Equal(KpiStatus.Met, month.Status);
        Assert.Equal(KpiStatus.Missed, threeDays.Status);
        Assert.Equal(1_209_600, threeDays.Target);
    }

    [Fact]
    public void Load_DurationTargetWithUnitSeconds_IsAccepted()
    {
        var kpi = Kpi(Load(">= 1h", signal: "redirects", unit: "seconds"));

        Assert.Equal(3600, kpi.Target.Value);
    }

    [Fact]
    public void Load_DurationTargetOnASignalNotInSeconds_IsAnErrorAtTheTarget()
    {
        var errors = Load(">= 14d", signal: "redirects").Errors.Select(e => e.ToString());

        Assert.Equal(
            ["test.yaml:12:17: initiatives[tls].kpis[cert].target: target \">= 14d\": a duration target is for a value in seconds: a signal named *_seconds (or unit: seconds), and redirects is neither; write a number"],
            errors);
    }

    [Theory]
    [InlineData("count")]
    [InlineData("rate")]
    public void Load_DurationTargetOnACountOrRateOfSeconds_IsAnError(string aggregate)
    {
        var errors = Load(">= 14d", aggregate: aggregate).Errors.Select(e => e.ToString());

        var error = Assert.Single(errors);
        Assert.Equal(
            $"test.yaml:12:17: initiatives[tls].kpis[cert].target: target \">= 14d\": a duration target is for a value in seconds, and aggregate {aggregate} of cert_expiry_seconds is not one; write a number",
            error);
    }
}
