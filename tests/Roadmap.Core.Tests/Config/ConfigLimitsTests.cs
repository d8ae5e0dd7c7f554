using System.Text;
using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

/// <summary>
/// Input is bounded: the size of the config file and its type, the nodes YAML aliases expand to, and the errors
/// reported. Each input here once ran the process out of memory, hung it, or printed millions of lines.
/// </summary>
public sealed class ConfigLimitsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "roadmap-limits-" + Guid.NewGuid().ToString("N"));

    public ConfigLimitsTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ConfigLoader Loader() => new([new FakeSourceKindSpec()], _ => null);

    private static ConfigLoadResult LoadFileSoon(string path) =>
        Task.Run(() => Loader().LoadFile(path)).WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();

    [Fact]
    public void LoadFile_DevZero_IsNotARegularFile()
    {
        var result = LoadFileSoon("/dev/zero");

        Assert.Equal(["/dev/zero:1:1: cannot read the config file: it is a character device, not a regular file"], result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void LoadFile_SparseGigabyteFile_IsTooLargeWithoutReadingIt()
    {
        var path = Path.Combine(_dir, "huge.yaml");
        using (var file = new FileStream(path, FileMode.CreateNew))
        {
            file.SetLength(1L << 30);
        }

        var result = LoadFileSoon(path);

        Assert.Equal([$"{path}:1:1: config is larger than 4 MiB"], result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void LoadFile_OneByteOverTheCap_IsTooLarge()
    {
        var path = Path.Combine(_dir, "big.yaml");
        File.WriteAllText(path, "roadmap: {name: x}\n#" + new string('x', ConfigLoader.MaxFileBytes));

        var result = LoadFileSoon(path);

        Assert.Equal([$"{path}:1:1: config is larger than 4 MiB"], result.Errors.Select(e => e.ToString()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LoadFile_Fifo_IsAnErrorNotAHang(bool throughLink)
    {
        var fifo = Path.Combine(_dir, "fifo.yaml");
        Fifo.Create(fifo);
        var path = fifo;
        if (throughLink)
        {
            path = Path.Combine(_dir, "link.yaml");
            File.CreateSymbolicLink(path, fifo);
        }

        var result = LoadFileSoon(path);

        Assert.Equal([$"{path}:1:1: cannot read the config file: it is a FIFO (named pipe), not a regular file"], result.Errors.Select(e => e.ToString()));
    }

    /// <summary>
    /// An alias bomb along the schema: 1,000 initiatives, each the same alias to one list of 1,000 broken KPIs, in
    /// 8 KB. Validation walks an alias once per use, so this gave 3,000,000 errors (and gigabytes); it must be one
    /// error, found on the parser's events before the document is built.
    /// </summary>
    [Fact]
    public void Load_AliasBomb_IsOneErrorAboutTheNodes()
    {
        var yaml = $$"""
            roadmap: {name: R}
            kpi: &k {id: k, source: nope, window: 30x, target: often}
            kpis: &ks [{{string.Join(", ", Enumerable.Repeat("*k", 1000))}}]
            initiative: &i {id: i, name: I, kpis: *ks}
            initiatives: [{{string.Join(", ", Enumerable.Repeat("*i", 1000))}}]
            """;

        var result = Loader().Load(yaml, "bomb.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Equal(0, result.MoreErrors);
        Assert.Equal(5, error.Line);
        Assert.StartsWith($"YAML structure not allowed: the document holds more than {YamlShape.MaxNodes:N0} nodes, each alias counting as every node it names (the alias *i names ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_PlainNodesOverTheCap_IsAnError()
    {
        var yaml = $"roadmap: {{name: R}}\nx: [{string.Join(',', Enumerable.Repeat("a", (int)YamlShape.MaxNodes))}]\n";

        var error = Assert.Single(Loader().Load(yaml, "t.yaml").Errors);

        Assert.Contains($"more than {YamlShape.MaxNodes:N0} nodes", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Aliases within the node cap: 250 broken sources (about three errors each), of which the first 100 errors are kept.</summary>
    [Fact]
    public void Load_ManyErrors_KeepsTheFirstHundredAndCountsTheRest()
    {
        var yaml = $"roadmap: {{name: R}}\none: &one {{id: a, kind: fake, bogus: 1, url: \"ftp://x\"}}\nsources: [{string.Join(", ", Enumerable.Repeat("*one", 250))}]\n";

        var result = Loader().Load(yaml, "t.yaml");

        Assert.Equal(ConfigContext.MaxErrors, result.Errors.Count);
        Assert.True(result.MoreErrors > 100, $"{result.MoreErrors} more errors");
        var lines = result.ErrorLines().ToList();
        Assert.Equal(ConfigContext.MaxErrors + 1, lines.Count);
        Assert.Equal($"... and {result.MoreErrors} more errors", lines[^1]);
        Assert.Equal(result.Errors.Count + result.MoreErrors, result.ErrorCount);
    }
}
