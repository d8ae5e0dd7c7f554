using Roadmap.Core.Tests.Config.Fuzzing;

namespace Roadmap.Sources.Tests.Fuzzing;

/// <summary>
/// The config fuzzer of Roadmap.Core.Tests, through the real source kinds: their own keys (URLs, addresses,
/// connection strings, JSONPaths, queries, secrets) get the same mutations, and the same oracle.
/// </summary>
public class ConfigLoaderAllKindsFuzzTests
{
    private const string File = "fuzz.yaml";

    private static readonly ConfigLoader Loader = new(SourceKinds.All, ConfigOracle.Environment);

    [Fact]
    public void Load_RichSeed_ValidWithEveryKind()
    {
        var result = Loader.Load(FuzzSeeds.RichConfig, File);

        Assert.True(result.IsValid, string.Join('\n', result.Errors));
        Assert.Equal(SourceKinds.All.Select(k => k.Kind).Order(), result.Config!.Sources.Select(s => s.Kind).Distinct().Order());
    }

    [Fact]
    public void Load_MutatedConfigs_ModelOrLocatedErrors()
    {
        var seeds = FuzzSeeds.All().Select(s => s.Replace("\r\n", "\n", StringComparison.Ordinal)).ToList();
        FuzzRun.Run(
            "config-loader-all-kinds",
            5_000,
            TimeSpan.FromSeconds(120),
            rng => Mutations.Mutate(rng, seeds[rng.Next(seeds.Count)]),
            yaml => ConfigOracle.Check(Loader.Load(yaml, File), yaml, File));
    }

    public static TheoryData<string> FuzzFindings()
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(InvalidDir, "fuzz-*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(path));
        }

        return data;
    }

    /// <summary>
    /// Each config the fuzzer found crashing the loader (or accepted, then crashing the worker), kept in
    /// Roadmap.Worker.Tests' testdata/invalid, gives exactly its .expected errors here too, without the CLI.
    /// </summary>
    [Theory]
    [MemberData(nameof(FuzzFindings))]
    public void Load_FuzzFinding_ExactlyTheExpectedErrors(string name)
    {
        var path = Path.Combine(InvalidDir, name);
        var expected = System.IO.File.ReadAllLines(path + ".expected").Where(l => l.Length > 0).ToList();

        var actual = Loader.LoadFile(path).Errors.Select(e => e.ToString().Replace(path, "{file}", StringComparison.Ordinal)).ToList();

        Assert.True(expected.SequenceEqual(actual), $"expected:\n{string.Join('\n', expected)}\nactual:\n{string.Join('\n', actual)}");
    }

    private static string InvalidDir => Path.Combine(FuzzSeeds.RepositoryRoot(), "tests", "Roadmap.Worker.Tests", "testdata", "invalid");
}
