using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Core.Config;
using Roadmap.Sources.Json;
using Roadmap.Sources.Prometheus;

namespace Roadmap.Sources.Tests.Api;

/// <summary>
/// <see cref="TestConfigs"/> for the API kinds: the registered kinds plus prometheus and json (once those are
/// registered in <see cref="SourceKinds.All"/>, the registered instances win).
/// </summary>
internal static class ApiKinds
{
    public const string File = "test.yaml";

    public static IReadOnlyList<ISourceKind> All { get; } = Kinds([.. SourceKinds.All, new PrometheusSourceKind(), new JsonSourceKind()]);

    /// <summary>Loads a config whose only source is <paramref name="source"/>, a YAML list item ("- id: ..."), from line 3.</summary>
    public static ConfigLoadResult Load(string source, Func<string, string?>? environment = null)
    {
        var indented = string.Join('\n', source.Split('\n').Select(line => "  " + line));
        var yaml = $"roadmap: {{name: x}}\nsources:\n{indented}\n";
        return new ConfigLoader(All, environment ?? (_ => null)).Load(yaml, File);
    }

    public static SourceConfig Source(string source, Func<string, string?>? environment = null)
    {
        var result = Load(source, environment);
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        return Assert.Single(result.Config!.Sources);
    }

    /// <summary>Every error of a config that must be invalid, as FILE:LINE:COL: message.</summary>
    public static List<string> Errors(string source)
    {
        var result = Load(source);
        Assert.False(result.IsValid);
        return [.. result.Errors.Select(e => e.ToString())];
    }

    public static ISource Create(SourceConfig config, TimeProvider? time = null) =>
        All.Single(k => k.Kind == config.Kind).Create(config, new SourceContext(time ?? TimeProvider.System, NullLoggerFactory.Instance));

    public static ISource Create(string source, Func<string, string?>? environment = null) => Create(Source(source, environment));

    private static List<ISourceKind> Kinds(List<ISourceKind> kinds) => [.. kinds.DistinctBy(k => k.Kind)];

    public static async Task<PollResult> PollOnceAsync(string source, Func<string, string?>? environment = null)
    {
        await using var created = Create(source, environment);
        return await created.PollAsync(CancellationToken.None);
    }
}
