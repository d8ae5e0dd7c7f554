using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

public sealed class SourceConfigRedactTests
{
    private static SourceConfig Source(params string[] secrets) =>
        new("api", "json", new PollSchedule(TimeSpan.FromSeconds(15), null), TimeSpan.FromSeconds(5), new object(), ["x"], secrets);

    [Theory]
    [InlineData("HTTP 401: Bearer s3cr3t-token-abcdef denied", "HTTP 401: Bearer *** denied")]
    [InlineData("s3cr3t-token-abcdef and s3cr3t-token-abcdef", "*** and ***")]
    [InlineData("$.x: \"Bearer s3cr3t-tok…\" is not a number", "$.x: \"Bearer ***…\" is not a number")]
    [InlineData("no secret here", "no secret here")]
    [InlineData("s3cr…", "***…")]
    [InlineData("s3c…", "s3c…")] // three characters say nothing about the secret
    public void Redact_TextWithWholeOrCutSecret_ReplacesIt(string text, string expected)
    {
        Assert.Equal(expected, Source("s3cr3t-token-abcdef").Redact(text));
    }

    [Fact]
    public void Redact_TwoSecretsOneInsideTheOther_LongestFirst()
    {
        Assert.Equal("user *** and pass ***", Source("abcd", "abcd-long-password").Redact("user abcd and pass abcd-long-password"));
    }

    [Fact]
    public void Redact_NoSecretsOrNoText_ReturnsItUnchanged()
    {
        Assert.Equal("HTTP 500", Source().Redact("HTTP 500"));
        Assert.Null(Source("s3cr3t").Redact(null));
    }
}
