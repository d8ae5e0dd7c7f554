using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Core.Config;
using Roadmap.Sources.Redis;

namespace Roadmap.Sources.Tests.Redis;

/// <summary>
/// Like <see cref="TestConfigs"/>, through the real loader, with the redis kind as the only kind: the tests do not
/// depend on its registration in <see cref="SourceKinds"/>.
/// </summary>
internal static class RedisConfigs
{
    /// <summary>Loads a config whose only source is <paramref name="source"/>, a YAML list item ("- id: ...").</summary>
    public static ConfigLoadResult Load(string source, Func<string, string?>? environment = null)
    {
        var indented = string.Join('\n', source.Split('\n').Select(line => "  " + line));
        var yaml = $"roadmap: {{name: x}}\nsources:\n{indented}\n";
        return new ConfigLoader([new RedisSourceKind()], environment ?? (_ => null)).Load(yaml, TestConfigs.File);
    }

    public static SourceConfig Source(string source, Func<string, string?>? environment = null)
    {
        var result = Load(source, environment);
        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        return Assert.Single(result.Config!.Sources);
    }

    public static List<string> Errors(string source, Func<string, string?>? environment = null)
    {
        var result = Load(source, environment);
        Assert.False(result.IsValid);
        return result.Errors.Select(e => e.ToString()).ToList();
    }

    public static ISource Create(string source, Func<string, string?>? environment = null) =>
        new RedisSourceKind().Create(Source(source, environment), new SourceContext(TimeProvider.System, NullLoggerFactory.Instance));

    /// <summary>A redis source polling <paramref name="address"/>, with more keys (each "key: value") as given.</summary>
    public static ISource Create(string address, string timeout, params string[] keys) =>
        Create(Yaml(address, timeout, keys));

    public static string Yaml(string address, string timeout = "2s", params string[] keys) =>
        string.Join('\n', new[] { "- id: cache", "  kind: redis", $"  timeout: {timeout}", $"  address: \"{address}\"" }.Concat(keys.Select(k => "  " + k)));
}
