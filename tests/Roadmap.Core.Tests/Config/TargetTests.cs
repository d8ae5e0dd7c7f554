using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

public class TargetTests
{
    [Theory]
    [InlineData(">= 99.9%", Comparison.GreaterOrEqual, 0.999)]
    [InlineData("<= 0.3", Comparison.LessOrEqual, 0.3)]
    [InlineData("> -1", Comparison.Greater, -1.0)]
    [InlineData("== 5", Comparison.Equal, 5.0)]
    [InlineData("< 250", Comparison.Less, 250.0)]
    [InlineData(">=0.9", Comparison.GreaterOrEqual, 0.9)]
    [InlineData("  <= 50 %  ", Comparison.LessOrEqual, 0.5)]
    [InlineData("<= .5", Comparison.LessOrEqual, 0.5)]
    [InlineData("< 1e-3", Comparison.Less, 0.001)]
    [InlineData("> -5%", Comparison.Greater, -0.05)]
    public void TryParse_AbsoluteTarget_ReturnsOperatorAndValue(string text, Comparison op, double value)
    {
        Assert.True(Target.TryParse(text, out var target));

        Assert.Equal(op, target.Op);
        Assert.NotNull(target.Value);
        Assert.Equal(value, target.Value.Value, 1e-12);
        Assert.False(target.IsRelative);
        Assert.Equal(text.Trim(), target.Text);
    }

    [Theory]
    [InlineData(">= 99.9%", 0.999)]
    [InlineData(">= 99.95%", 0.9995)]
    [InlineData("<= 0.3%", 0.003)]
    [InlineData(">= 57%", 0.57)]
    public void TryParse_PercentTarget_EqualsTheDecimalFractionExactly(string text, double expected)
    {
        // 99.9 / 100 is 0.9990000000000001 in doubles; an uptime of exactly 0.999 must meet ">= 99.9%".
        Assert.True(Target.TryParse(text, out var target));

        Assert.Equal(expected, target.Value);
    }

    [Theory]
    [InlineData("<= baseline - 20%", Comparison.LessOrEqual, -0.2, true, 2.4, 1.92)]
    [InlineData(">= baseline + 30%", Comparison.GreaterOrEqual, 0.3, true, 2.0, 2.6)]
    [InlineData("< baseline + 5", Comparison.Less, 5.0, false, 10.0, 15.0)]
    [InlineData("> baseline - 0.5", Comparison.Greater, -0.5, false, 2.0, 1.5)]
    [InlineData("<= baseline", Comparison.LessOrEqual, 0.0, false, 2.4, 2.4)]
    [InlineData("<=baseline-10%", Comparison.LessOrEqual, -0.1, true, 100.0, 90.0)]
    public void TryParse_RelativeTarget_ResolvesAgainstBaseline(string text, Comparison op, double delta, bool percent, double baseline, double expected)
    {
        Assert.True(Target.TryParse(text, out var target));

        Assert.Equal(op, target.Op);
        Assert.True(target.IsRelative);
        Assert.Null(target.Value);
        Assert.Equal(delta, target.RelativeDelta, 1e-12);
        Assert.Equal(percent, target.RelativeIsPercent);
        Assert.Equal(expected, target.Resolve(baseline), 1e-9);
    }

    [Fact]
    public void Resolve_RelativeTargetWithoutBaseline_ReturnsNaN()
    {
        Assert.True(Target.TryParse("<= baseline - 20%", out var target));

        Assert.True(double.IsNaN(target.Resolve(null)));
    }

    [Fact]
    public void Resolve_AbsoluteTarget_IgnoresBaseline()
    {
        Assert.True(Target.TryParse("<= 0.3", out var target));

        Assert.Equal(0.3, target.Resolve(100));
        Assert.Equal(0.3, target.Resolve(null));
    }

    [Theory]
    [InlineData("")]
    [InlineData("=> 3")]
    [InlineData(">= abc")]
    [InlineData("99")]
    [InlineData("99%")]
    [InlineData(">= 1%%")]
    [InlineData("= 3")]
    [InlineData("!= 3")]
    [InlineData(">= ")]
    [InlineData(">= 1 2")]
    [InlineData(">= baseline 20%")]
    [InlineData(">= baseline * 2")]
    [InlineData(">= basline - 20%")]
    [InlineData(">= 1e999")]
    public void TryParse_Malformed_ReturnsFalse(string text)
    {
        Assert.False(Target.TryParse(text, out _));
    }

    [Theory]
    [InlineData(">= \u0663")] // Arabic-Indic three: \d matches it, double.Parse does not.
    [InlineData("<= baseline - \u0662\u0660%")]
    public void TryParse_NonAsciiDigits_ReturnsFalseWithoutThrowing(string text)
    {
        var ex = Record.Exception(() => Target.TryParse(text, out _));

        Assert.Null(ex);
        Assert.False(Target.TryParse(text, out _));
    }

    [Theory]
    [InlineData(Comparison.GreaterOrEqual, 4.0, false)]
    [InlineData(Comparison.GreaterOrEqual, 5.0, true)]
    [InlineData(Comparison.GreaterOrEqual, 6.0, true)]
    [InlineData(Comparison.Greater, 4.0, false)]
    [InlineData(Comparison.Greater, 5.0, false)]
    [InlineData(Comparison.Greater, 6.0, true)]
    [InlineData(Comparison.LessOrEqual, 4.0, true)]
    [InlineData(Comparison.LessOrEqual, 5.0, true)]
    [InlineData(Comparison.LessOrEqual, 6.0, false)]
    [InlineData(Comparison.Less, 4.0, true)]
    [InlineData(Comparison.Less, 5.0, false)]
    [InlineData(Comparison.Less, 6.0, false)]
    [InlineData(Comparison.Equal, 4.0, false)]
    [InlineData(Comparison.Equal, 5.0, true)]
    [InlineData(Comparison.Equal, 6.0, false)]
    public void Satisfies_ValueBelowAtOrAboveThreshold_FollowsOperator(Comparison op, double value, bool expected)
    {
        Assert.Equal(expected, Target.Satisfies(op, value, 5.0));
    }

    [Theory]
    [InlineData(Comparison.GreaterOrEqual, ">=")]
    [InlineData(Comparison.Greater, ">")]
    [InlineData(Comparison.LessOrEqual, "<=")]
    [InlineData(Comparison.Less, "<")]
    [InlineData(Comparison.Equal, "==")]
    public void Symbol_Operator_ReturnsConfigSpelling(Comparison op, string expected)
    {
        Assert.Equal(expected, Target.Symbol(op));
    }
}
