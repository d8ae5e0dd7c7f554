using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config.Fuzzing;

/// <summary>
/// Mutated configs through the loader: every outcome is a model or located errors, never an exception, a hang or a
/// stack overflow. The source kinds here are stand-ins that accept any key (Roadmap.Core cannot see the real ones);
/// Roadmap.Sources.Tests fuzzes the same seeds through the real kinds.
/// </summary>
public class ConfigLoaderFuzzTests
{
    private const string File = "fuzz.yaml";

    /// <summary>
    /// 10,000 cases took 27 s of CPU (60 s on a machine shared with other builds) when this was written; the limit
    /// leaves room for a slower machine and still catches a loader that became far slower.
    /// </summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    private static readonly ConfigLoader Loader = new(
        new[] { "http", "sql", "redis", "prometheus", "json", "github", "gitlab", "jira", "tcp", "dns", "fake" }.Select(k => new AnyKeysSourceKindSpec(k)),
        ConfigOracle.Environment);

    private static readonly List<string> Seeds = FuzzSeeds.All().Select(s => s.Replace("\r\n", "\n", StringComparison.Ordinal)).ToList();

    [Fact]
    public void Load_MutatedConfigs_ModelOrLocatedErrors()
    {
        var ran = FuzzRun.Run(
            "config-loader",
            10_000,
            Limit,
            rng => Mutations.Mutate(rng, Seeds[rng.Next(Seeds.Count)]),
            yaml => ConfigOracle.Check(Loader.Load(yaml, File), yaml, File));

        Assert.True(ran >= 10_000);
    }

    [Fact]
    public void Load_SeedConfigs_ShippedAndRichAreValid()
    {
        foreach (var seed in Seeds.Take(2))
        {
            var result = Loader.Load(seed, File);
            Assert.True(result.IsValid, string.Join('\n', result.Errors));
        }
    }

    /// <summary>Values of the scalar kinds the loader parses itself, mutated in place in a small valid config.</summary>
    [Theory]
    [InlineData("every", "15s")]
    [InlineData("timeout", "2s")]
    [InlineData("cron", "\"0 0/5 * * * ?\"")]
    [InlineData("window", "30d")]
    [InlineData("target", "\"<= baseline - 20%\"")]
    [InlineData("baseline", "2.4")]
    [InlineData("deadline", "2027-03-31")]
    [InlineData("timeline", "2027-Q1")]
    [InlineData("start", "2027-01-01")]
    [InlineData("timezone", "Europe/Berlin")]
    [InlineData("name", "${VAR} and ${VAR}")]
    public void Load_MutatedScalar_ModelOrLocatedErrors(string key, string value)
    {
        FuzzRun.Run(
            "config-scalar-" + key,
            2_000,
            Limit,
            rng => ScalarConfig(key, MutateScalar(rng, value)),
            yaml => ConfigOracle.Check(Loader.Load(yaml, File), yaml, File));
    }

    private static string MutateScalar(Random rng, string value) => rng.Next(4) switch
    {
        0 => Mutations.Token(rng),
        1 => value + Mutations.Token(rng),
        _ => Mutations.MutateOnce(rng, value),
    };

    private static string ScalarConfig(string key, string value)
    {
        string V(string k, string fallback) => k == key ? value : fallback;
        var schedule = key == "cron" ? $"cron: {value}" : $"every: {V("every", "15s")}";
        var timeline = key == "start" ? $"{{ start: {value}, due: 2027-12-31 }}" : V("timeline", "2027-Q1");
        return $"""
            roadmap:
              name: {V("name", "x")}
            settings:
              timezone: {V("timezone", "UTC")}
            sources:
              - id: s
                kind: fake
                {schedule}
                timeout: {V("timeout", "2s")}
                url: http://127.0.0.1/
            initiatives:
              - id: i
                name: I
                timeline: {timeline}
                kpis:
                  - id: k
                    source: s
                    signal: up
                    window: {V("window", "30d")}
                    target: {V("target", "\"<= baseline - 20%\"")}
                    baseline: {V("baseline", "2.4")}
                    deadline: {V("deadline", "due")}
            """;
    }

    /// <summary>A source kind that accepts every key it is given, so the fuzzer reaches the KPIs behind the sources.</summary>
    private sealed class AnyKeysSourceKindSpec(string kind) : ISourceKindSpec
    {
        private static readonly string[] Common = ["id", "kind", "every", "cron", "timeout"];

        public string Kind => kind;

        public object Bind(ConfigSection section)
        {
            foreach (var key in section.Keys.Except(Common).ToList())
            {
                _ = section.Node(key, required: false);
            }

            return kind;
        }

        /// <summary>The real kinds' signals (json's are the rich seed's), so a KPI may leave out the only one.</summary>
        public IReadOnlyList<string> Signals(object options) => kind switch
        {
            "http" or "fake" => ["up", "latency_seconds", "status_code"],
            "sql" => ["duration_seconds", "value"],
            "redis" => ["hits", "misses", "hit_ratio"],
            "prometheus" => ["value"],
            "json" => ["bounce_rate", "first", "last"],
            "github" => ["count", "incomplete"],
            "tcp" => ["up", "connect_seconds"],
            "dns" => ["up", "lookup_seconds", "answer_count"],
            _ => ["count"],
        };
    }
}
