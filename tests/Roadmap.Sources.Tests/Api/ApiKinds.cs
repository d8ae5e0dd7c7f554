namespace Roadmap.Sources.Tests.Api;

/// <summary><see cref="TestConfigs"/> for the API kinds, with a time provider for tests about waiting.</summary>
internal static class ApiKinds
{
    public static ConfigLoadResult Load(string source, Func<string, string?>? environment = null) => TestConfigs.Load(source, environment);

    public static SourceConfig Source(string source, Func<string, string?>? environment = null) => TestConfigs.Source(source, environment);

    /// <summary>Every error of a config that must be invalid, as FILE:LINE:COL: message.</summary>
    public static List<string> Errors(string source) => TestConfigs.Errors(source);

    public static ISource Create(SourceConfig config, TimeProvider? time = null) =>
        SourceKinds.Get(config.Kind).Create(config, new SourceContext(time ?? TimeProvider.System, NullLoggerFactory.Instance));

    public static ISource Create(string source, Func<string, string?>? environment = null) => Create(Source(source, environment));

    public static async Task<PollResult> PollOnceAsync(string source, Func<string, string?>? environment = null)
    {
        await using var created = Create(source, environment);
        return await created.PollAsync(CancellationToken.None);
    }
}
