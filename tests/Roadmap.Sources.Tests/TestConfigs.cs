namespace Roadmap.Sources.Tests;

/// <summary>Builds sources the way the worker does: from YAML, through the real loader and the registered kinds.</summary>
internal static class TestConfigs
{
    public const string File = "test.yaml";

    /// <summary>Loads a config whose only source is <paramref name="source"/>, a YAML list item ("- id: ...").</summary>
    public static ConfigLoadResult Load(string source, Func<string, string?>? environment = null)
    {
        var indented = string.Join('\n', source.Split('\n').Select(line => "  " + line));
        var yaml = $"roadmap: {{name: x}}\nsources:\n{indented}\n";
        return new ConfigLoader(SourceKinds.All, environment ?? (_ => null)).Load(yaml, File);
    }

    /// <summary>The one source of a config that must be valid.</summary>
    public static SourceConfig Source(string source, Func<string, string?>? environment = null)
    {
        var result = Load(source, environment);
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        return Assert.Single(result.Config!.Sources);
    }

    /// <summary>Every error of a config that must be invalid, as FILE:LINE:COL: message.</summary>
    public static List<string> Errors(string source, Func<string, string?>? environment = null)
    {
        var result = Load(source, environment);
        Assert.False(result.IsValid);
        return result.Errors.Select(e => e.ToString()).ToList();
    }

    public static ISource Create(SourceConfig config) =>
        SourceKinds.Get(config.Kind).Create(config, new SourceContext(TimeProvider.System, NullLoggerFactory.Instance));

    public static ISource Create(string source, Func<string, string?>? environment = null) => Create(Source(source, environment));

    /// <summary>The value of a signal in a poll's samples; null when the poll did not sample it.</summary>
    public static double? Value(this PollResult result, string signal)
    {
        var matches = result.Samples.Where(s => s.Signal == signal).ToList();
        Assert.True(matches.Count <= 1, $"signal {signal} sampled {matches.Count} times");
        return matches.Count == 0 ? null : matches[0].Value;
    }
}
