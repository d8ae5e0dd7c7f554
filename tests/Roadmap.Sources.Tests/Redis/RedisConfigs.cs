using Roadmap.Sources.Redis;

namespace Roadmap.Sources.Tests.Redis;

/// <summary>redis sources for tests, loaded like <see cref="TestConfigs"/> through the registered kinds.</summary>
internal static class RedisConfigs
{
    public static ConfigLoadResult Load(string source, Func<string, string?>? environment = null) => TestConfigs.Load(source, environment);

    public static SourceConfig Source(string source, Func<string, string?>? environment = null) => TestConfigs.Source(source, environment);

    public static List<string> Errors(string source, Func<string, string?>? environment = null) => TestConfigs.Errors(source, environment);

    public static ISource Create(string source, Func<string, string?>? environment = null) =>
        new RedisSourceKind().Create(Source(source, environment), new SourceContext(TimeProvider.System, NullLoggerFactory.Instance));

    /// <summary>A redis source polling <paramref name="address"/>, with more keys (each "key: value") as given.</summary>
    public static ISource Create(string address, string timeout, params string[] keys) =>
        Create(Yaml(address, timeout, keys));

    public static string Yaml(string address, string timeout = "2s", params string[] keys) =>
        string.Join('\n', new[] { "- id: cache", "  kind: redis", $"  timeout: {timeout}", $"  address: \"{address}\"" }.Concat(keys.Select(k => "  " + k)));
}
