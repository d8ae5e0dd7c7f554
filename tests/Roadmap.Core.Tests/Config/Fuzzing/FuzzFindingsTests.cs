using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config.Fuzzing;

/// <summary>What the config fuzzer found, one case each, so each fix stays fixed whatever the fuzzer's seed.</summary>
public class FuzzFindingsTests
{
    private const string File = "test.yaml";

    private static readonly ConfigLoader Loader = new([new FakeSourceKindSpec()], _ => null);

    /// <summary>Loads on a 1 MiB stack (a thread-pool thread's): the overflows happened there, not on the test's own.</summary>
    private static List<string> Errors(string yaml)
    {
        ConfigLoadResult? result = null;
        var thread = new Thread(() => result = Loader.Load(yaml, File), 1024 * 1024);
        thread.Start();
        thread.Join();
        return result!.Errors.Select(e => e.ToString()).ToList();
    }

    public static TheoryData<string, string> Shapes() => new()
    {
        { "roadmap: " + new string('[', 10_000) + new string(']', 10_000) + "\n", "test.yaml:1:73: YAML structure not allowed: lists and mappings are nested more than 64 deep" },
        { "roadmap: " + string.Concat(Enumerable.Repeat("{a: ", 10_000)) + "1" + new string('}', 10_000) + "\n", "test.yaml:1:262: YAML structure not allowed: lists and mappings are nested more than 64 deep" },
        { "roadmap: " + new string('[', 10_000) + "\n", "test.yaml:1:73: YAML structure not allowed: lists and mappings are nested more than 64 deep" },
        { "roadmap:\n" + string.Concat(Enumerable.Range(1, 10_000).Select(i => new string(' ', i) + "-\n")), "test.yaml:65:65: YAML structure not allowed: lists and mappings are nested more than 64 deep" },
        { "roadmap: {? &a [*a] : 1}\n", "test.yaml:1:13: YAML structure not allowed: a mapping key must be a plain value, not a list" },
        { "roadmap: &a [*a]\n", "test.yaml:1:14: YAML structure not allowed: the alias *a is inside the node it names (&a): a cycle" },
        { "x: &a [1]\nroadmap: {*a : 1}\n", "test.yaml:2:11: YAML structure not allowed: a mapping key must be a plain value, not a list (the alias *a)" },
        { "roadmap:\n  name: \"x\"*b\n  vision: y\n", "test.yaml:2:12: YAML structure not allowed: unexpected text after the value on this line" },
        // An alias before its anchor: YamlDotNet resolved it anyway, so an alias bomb with its anchors moved below their
        // aliases (a fuzz finding) was never counted and expanded to four million nodes.
        { "roadmap: *a\nx: &a {name: R}\n", "test.yaml:1:10: YAML structure not allowed: the alias *a comes before any anchor &a: an anchor must be defined before it is used" },
        { "roadmap: {name: R}\nsources: [*nowhere]\n", "test.yaml:2:11: YAML structure not allowed: the alias *nowhere comes before any anchor &nowhere: an anchor must be defined before it is used" },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Load_YamlShapeThatCrashedYamlDotNet_OneLocatedError(string yaml, string expected)
    {
        Assert.Equal([expected], Errors(yaml));
    }

    [Fact]
    public void Load_NestingWithinLimit_LoadsAsUsual()
    {
        var errors = Errors("roadmap: {name: x, vision: " + new string('[', 60) + new string(']', 60) + "}\n");

        Assert.Equal(["test.yaml:1:28: roadmap.vision: expected a single value, not a list"], errors);
    }

    [Fact]
    public void Load_SyntaxErrorAtEndWithoutFinalNewline_PointsAtLastLine()
    {
        var errors = Loader.Load("roadmap:\n  name: [", File).Errors;

        var error = Assert.Single(errors);
        Assert.Equal((2, 10), (error.Line, error.Column));
    }

    [Theory]
    [InlineData("9999-Q4")]
    [InlineData("9999Q4")]
    [InlineData("Q4 9999")]
    [InlineData("1899-Q4")]
    public void DatesTryParseQuarter_OutsideYearRange_False(string text)
    {
        Assert.False(Dates.TryParseQuarter(text, out _, out _));
    }

    [Theory]
    [InlineData("0001-01-01", false)]
    [InlineData("1899-12-31", false)]
    [InlineData("1900-01-01", true)]
    [InlineData("9998-12-31", true)]
    [InlineData("9999-12-31", false)]
    public void DatesTryParseDate_YearRange_OnlyDatesEveryZoneCanHold(string text, bool ok)
    {
        Assert.Equal(ok, Dates.TryParseDate(text, out var date));
        if (ok)
        {
            var kiritimati = TimeZoneInfo.FindSystemTimeZoneById("Pacific/Kiritimati");
            Assert.True(Dates.StartOfDay(date, kiritimati) < Dates.EndOfDay(date, TimeZoneInfo.Utc));
        }
    }

    [Theory]
    [InlineData("36500d", true)]
    [InlineData("5214w", true)]
    [InlineData("36501d", false)]
    [InlineData("329000w", false)]
    public void DurationsTryParse_AtMostAHundredYears(string text, bool ok)
    {
        Assert.Equal(ok, Durations.TryParse(text, out _));
    }

    [Fact]
    public void DurationsProblem_TooLong_SaysTheLimit()
    {
        Assert.Equal("must be at most 36500d (100 years)", Durations.Problem("329000w"));
    }

    [Theory]
    [InlineData("<= baseline - 1e400")]
    [InlineData(">= baseline + 1e400%")]
    public void TargetTryParse_InfiniteDelta_False(string text)
    {
        Assert.False(Target.TryParse(text, out _));
    }

    [Theory]
    [InlineData("0 0/5 * , * ?", "Quartz cannot compute when it fires")]
    [InlineData("0 0 0 31 2 ?", "it never fires")]
    public void Load_CronQuartzCannotSchedule_Error(string cron, string expected)
    {
        var errors = Errors($"roadmap: {{name: x}}\nsources:\n  - id: s\n    kind: fake\n    cron: \"{cron}\"\n    url: http://127.0.0.1/\n");

        var error = Assert.Single(errors);
        Assert.StartsWith($"test.yaml:5:11: sources[s].cron: bad cron expression \"{cron}\": {expected}", error, StringComparison.Ordinal);
    }
}
