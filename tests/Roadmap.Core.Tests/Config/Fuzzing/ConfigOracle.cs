using System.Text.RegularExpressions;
using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config.Fuzzing;

/// <summary>
/// What a config load must look like, whatever the input: either a model and no errors, or no model and errors, each
/// in FILE:LINE:COL form pointing inside the file. A model must also be usable: the dates, windows, targets and cron
/// expressions it holds must survive what the worker does with them, so "valid" never means "crashes later".
/// </summary>
/// <remarks>This file is compiled into Roadmap.Sources.Tests too (a linked file).</remarks>
internal static partial class ConfigOracle
{
    /// <summary>The environment the fuzzed loads see: set, empty, multi-line and very long values; anything else is unset.</summary>
    public static string? Environment(string name) => name switch
    {
        "VAR" => "value",
        "EMPTY" => "",
        "NEWLINE" => "a\nb: c",
        "LONG" => new string('x', 100_000),
        "TOKEN" => "s3cr3t-t0ken",
        "PORT" => "6379",
        _ => null,
    };

    private static readonly DateTimeOffset[] Instants =
    [
        new(2026, 7, 1, 12, 0, 0, TimeSpan.Zero),
        new(2027, 1, 1, 0, 0, 0, TimeSpan.Zero),
    ];

    public static void Check(ConfigLoadResult result, string yaml, string file)
    {
        Assert.NotNull(result);
        if (result.Config is not null)
        {
            Assert.Empty(result.Errors);
            CheckUsable(result.Config);
            return;
        }

        Assert.NotEmpty(result.Errors);
        var lines = Lines(yaml);
        foreach (var error in result.Errors)
        {
            var text = error.ToString();
            Assert.True(error.File == file, $"error names file \"{error.File}\", not \"{file}\": {text}");
            Assert.Matches(Format(), text);
            Assert.False(string.IsNullOrWhiteSpace(error.Message), $"empty message: {text}");
            Assert.True(error.Line >= 1 && error.Line <= lines.Count, $"line {error.Line} is outside the file ({lines.Count} lines): {Short(text)}");
            var length = lines[error.Line - 1];
            Assert.True(error.Column >= 1 && error.Column <= length + 1, $"column {error.Column} is outside line {error.Line} ({length} chars): {Short(text)}");
        }
    }

    private static void CheckUsable(RoadmapConfig config)
    {
        var zone = config.Settings.TimeZone;
        Assert.True(config.Settings.EvaluateEvery > TimeSpan.Zero);
        foreach (var source in config.Sources)
        {
            Assert.True(source.Timeout > TimeSpan.Zero);
            _ = Durations.Format(source.Timeout);
            if (source.Schedule.Cron is { } cron)
            {
                var expression = new Quartz.CronExpression(cron, zone);
                foreach (var now in Instants)
                {
                    _ = expression.GetNextValidTimeAfter(now);
                }
            }
            else
            {
                Assert.True(source.Schedule.Every > TimeSpan.Zero);
                _ = Durations.Format(source.Schedule.Every!.Value);
            }
        }

        foreach (var initiative in config.Initiatives)
        {
            if (initiative.Timeline is { } t)
            {
                Assert.True(Dates.StartOfDay(t.Start, zone) < Dates.EndOfDay(t.Due, zone));
            }

            foreach (var kpi in initiative.Kpis)
            {
                foreach (var now in Instants)
                {
                    Assert.True(kpi.Window.StartAt(now, zone) <= now);
                }

                _ = kpi.Window.ToString();
                if (kpi.Deadline is { } d)
                {
                    _ = Dates.EndOfDay(d, zone);
                }

                if (kpi.Baseline is { From: { } from, To: { } to })
                {
                    Assert.True(Dates.StartOfDay(from, zone) < Dates.EndOfDay(to, zone));
                }

                var threshold = kpi.Target.Resolve(kpi.Baseline?.Value ?? 1.0);
                Assert.True(double.IsFinite(threshold), $"target \"{kpi.Target.Text}\" resolves to {threshold}");
            }
        }
    }

    /// <summary>The length of each line, split where YamlDotNet counts a line break (\r\n, \r, \n, NEL, LS, PS).</summary>
    private static List<int> Lines(string text)
    {
        var lengths = new List<int>();
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (ch is '\n' or '\r' or '\u0085' or '\u2028' or '\u2029')
            {
                lengths.Add(i - start);
                if (ch == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                start = i + 1;
            }
        }

        lengths.Add(text.Length - start);
        return lengths;
    }

    private static string Short(string s) => s.Length > 300 ? s[..300] + "..." : s;

    [GeneratedRegex(@"^.+:[0-9]+:[0-9]+: \S", RegexOptions.Singleline)]
    private static partial Regex Format();
}
