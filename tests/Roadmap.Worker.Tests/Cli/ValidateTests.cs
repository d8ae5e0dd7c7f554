using System.Text.RegularExpressions;
using Roadmap.Worker.Cli;

namespace Roadmap.Worker.Tests.Cli;

/// <summary>
/// The validate verb against config files kept under testdata/, like blackbox_exporter: every file in
/// testdata/invalid has exactly the errors written beside it in NAME.yaml.expected, where {file} stands for the
/// path as passed to --config.
/// </summary>
public class ValidateTests
{
    private const string FilePlaceholder = "{file}";

    private static readonly string TestData = Path.Combine(AppContext.BaseDirectory, "testdata");

    private static readonly string InvalidDir = Path.Combine(TestData, "invalid");

    public static TheoryData<string> InvalidConfigs()
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(InvalidDir, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(path));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidConfigs))]
    public async Task Validate_InvalidConfig_PrintsExactlyTheExpectedErrors(string name)
    {
        var path = Path.Combine(InvalidDir, name);
        var expected = ReadLines(path + ".expected");

        var (exit, stdout, stderr) = await RunAsync("validate", "--config", path);

        // Compared with {file} put back, and printed whole: xUnit's string diff cuts long error lines short.
        var actual = stderr.SkipLast(1).Select(l => l.Replace(path, FilePlaceholder, StringComparison.Ordinal)).ToList();
        Assert.True(expected.SequenceEqual(actual), $"expected:\n{string.Join('\n', expected)}\nactual:\n{string.Join('\n', actual)}");
        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Empty(stdout);
        Assert.Equal($"{path}: {expected.Count} error(s); nothing was started", stderr[^1]);
    }

    [Fact]
    public void InvalidConfigs_EveryFileHasItsExpectedErrors()
    {
        var configs = Directory.GetFiles(InvalidDir, "*.yaml").Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToList();
        var expectations = Directory.GetFiles(InvalidDir, "*.yaml.expected").Select(p => Path.GetFileName(p)[..^".expected".Length]).Order(StringComparer.Ordinal).ToList();

        Assert.True(configs.Count >= 30, $"only {configs.Count} invalid configs");
        Assert.Equal(configs, expectations);
        foreach (var config in configs)
        {
            var lines = ReadLines(Path.Combine(InvalidDir, config + ".expected"));
            Assert.True(lines.Count > 0, $"{config}.expected is empty");
            Assert.All(lines, l => Assert.StartsWith(FilePlaceholder + ":", l, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Validate_ShippedConfig_ExitsZero()
    {
        var path = Path.Combine(Repository.Root(), "config", "roadmap.yaml");

        var (exit, stdout, stderr) = await RunAsync("validate", "--config", path);

        Assert.Empty(stderr);
        Assert.Equal(RoadmapCli.Ok, exit);
        var line = Assert.Single(stdout);
        Assert.Matches(new Regex($@"^{Regex.Escape(path)}: ok \([1-9][0-9]* sources, [1-9][0-9]* initiatives, [1-9][0-9]* KPIs\)$"), line);
    }

    [Fact]
    public async Task Validate_PercentTargetOnABugCount_ExitsZeroAndPrintsAWarningWithItsPlace()
    {
        using var dir = new TempFolder();
        var path = Path.Combine(dir.Path, "roadmap.yaml");
        await File.WriteAllTextAsync(path, """
            roadmap: { name: Bugs }
            sources:
              - { id: bugs, kind: github, repository: acme/shop, query: "is:issue is:open label:bug" }
            initiatives:
              - id: quality
                name: Quality
                kpis:
                  - { id: open-bugs, source: bugs, signal: count, aggregate: last, window: 1d, target: "<= 1%" }
            """);

        var (exit, stdout, stderr) = await RunAsync("validate", "--config", path);

        Assert.Equal(RoadmapCli.Ok, exit);
        var warning = Assert.Single(stderr);
        Assert.Matches($@"^{Regex.Escape(path)}:8:\d+: warning: initiatives\[quality\]\.kpis\[open-bugs\]\.target: target ""<= 1%"" is the fraction 0\.01, but the last of count is a number of events: did you mean ""<= 1""\?$", warning);
        Assert.StartsWith($"{path}: ok", Assert.Single(stdout), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_MissingConfigFile_ExitsTwoAndSaysNoSuchFile()
    {
        using var dir = new TempFolder();
        var path = Path.Combine(dir.Path, "roadmap.yaml");

        var (exit, stdout, stderr) = await RunAsync("validate", "--config", path);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Empty(stdout);
        Assert.Equal([$"{path}:1:1: cannot read the config file: no such file", $"{path}: 1 error(s); nothing was started"], stderr);
    }

    [Fact]
    public async Task Validate_ConfigInMissingDirectory_ExitsTwoAndSaysNoSuchFile()
    {
        using var dir = new TempFolder();
        var path = Path.Combine(dir.Path, "config", "roadmap.yaml");

        var (exit, _, stderr) = await RunAsync("validate", "--config", path);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Equal([$"{path}:1:1: cannot read the config file: no such file", $"{path}: 1 error(s); nothing was started"], stderr);
    }

    [Fact]
    public async Task Validate_ConfigIsADirectory_ExitsTwoAndSaysSo()
    {
        // Today: "Access to the path '...' is denied." — a permissions problem that is not there.
        using var dir = new TempFolder();

        var (exit, _, stderr) = await RunAsync("validate", "--config", dir.Path);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Equal([$"{dir.Path}:1:1: cannot read the config file: it is a directory", $"{dir.Path}: 1 error(s); nothing was started"], stderr);
    }

    /// <summary>Each of these once ran validate out of memory (SIGABRT) or hung it in open(2).</summary>
    [Theory]
    [InlineData("dev-zero", "cannot read the config file: it is a character device, not a regular file")]
    [InlineData("fifo", "cannot read the config file: it is a FIFO (named pipe), not a regular file")]
    [InlineData("sparse-gigabyte", "config is larger than 4 MiB")]
    public async Task Validate_UnboundedInput_ExitsTwoWithOneClearError(string what, string message)
    {
        using var dir = new TempFolder();
        var path = what == "dev-zero" ? "/dev/zero" : Path.Combine(dir.Path, "roadmap.yaml");
        if (what == "fifo")
        {
            Roadmap.Core.Tests.Config.Fifo.Create(path);
        }
        else if (what == "sparse-gigabyte")
        {
            using var file = new FileStream(path, FileMode.CreateNew);
            file.SetLength(1L << 30);
        }

        // On a thread of its own: a blocking open(2) would never let RunAsync's own time limit act.
        var (exit, stdout, stderr) = await Task.Run(() => RunAsync("validate", "--config", path)).WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Empty(stdout);
        Assert.Equal([$"{path}:1:1: {message}", $"{path}: 1 error(s); nothing was started"], stderr);
    }

    [Fact]
    public async Task Validate_MoreThanAHundredErrors_PrintsTheFirstHundredAndHowManyMore()
    {
        using var dir = new TempFolder();
        var path = Path.Combine(dir.Path, "roadmap.yaml");
        // 150 sources, each with two unknown keys: 300 errors.
        var sources = Enumerable.Range(0, 150).Select(i => $"  - {{ id: s{i}, kind: http, url: http://127.0.0.1/, a: 1, b: 2 }}");
        await File.WriteAllTextAsync(path, $"roadmap: {{ name: R }}\nsources:\n{string.Join('\n', sources)}\ninitiatives: []\n");

        var (exit, _, stderr) = await RunAsync("validate", "--config", path);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Equal(102, stderr.Count);
        Assert.All(stderr.Take(100), l => Assert.StartsWith($"{path}:", l, StringComparison.Ordinal));
        Assert.Equal("... and 200 more errors", stderr[100]);
        Assert.Equal($"{path}: 300 error(s); nothing was started", stderr[101]);
    }

    [Fact]
    public async Task Validate_UnclosedFlowMapping_ReportsSyntaxErrorInsteadOfCrashing()
    {
        // YamlDotNet throws InvalidOperationException (not YamlException) for this input.
        var path = Path.Combine(TestData, "unclosed-flow-mapping.yaml");

        var (exit, _, stderr) = await RunAsync("validate", "--config", path);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Equal(2, stderr.Count);
        Assert.StartsWith($"{path}:", stderr[0], StringComparison.Ordinal);
        Assert.Contains("YAML syntax error", stderr[0], StringComparison.Ordinal);
        Assert.Equal($"{path}: 1 error(s); nothing was started", stderr[1]);
    }

    [Fact]
    public async Task Run_InvalidConfig_ExitsTwoAndCreatesNoDatabase()
    {
        using var dir = new TempFolder();
        var dataDir = Path.Combine(dir.Path, "data");
        var database = Path.Combine(dataDir, "roadmap.db");
        var config = Path.Combine(InvalidDir, "kpi-unknown-source.yaml");

        var (exit, _, stderr) = await RunAsync("run", "--config", config, "--database", database, "--urls", "http://127.0.0.1:0");

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Equal($"{config}: 1 error(s); nothing was started", stderr[^1]);
        Assert.False(File.Exists(database), "the database file was created");
        Assert.False(Directory.Exists(dataDir), "the database folder was created");
    }

    [Fact]
    public async Task Run_InvalidConfigAsDefaultVerb_ExitsTwoAndCreatesNoDatabase()
    {
        using var dir = new TempFolder();
        var database = Path.Combine(dir.Path, "data", "roadmap.db");
        var config = Path.Combine(InvalidDir, "several-faults.yaml");

        var (exit, _, stderr) = await RunAsync("--config", config, "--database", database);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Equal($"{config}: 5 error(s); nothing was started", stderr[^1]);
        Assert.False(Directory.Exists(Path.GetDirectoryName(database)), "the database folder was created");
    }

    [Fact]
    public async Task Check_InvalidConfig_ExitsTwoWithoutPolling()
    {
        var config = Path.Combine(InvalidDir, "bad-url.yaml");

        var (exit, stdout, stderr) = await RunAsync("check", "--config", config);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Empty(stdout);
        Assert.Equal($"{config}: 1 error(s); nothing was started", stderr[^1]);
    }

    /// <summary>Runs the CLI as Program.cs does; a config wrongly accepted by run would serve forever, hence the limit.</summary>
    private static async Task<(int Exit, List<string> Stdout, List<string> Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await RoadmapCli.RunAsync(args, stdout, stderr).WaitAsync(TimeSpan.FromMinutes(1));
        return (exit, Lines(stdout.ToString()), Lines(stderr.ToString()));
    }

    private static List<string> ReadLines(string path) => Lines(File.ReadAllText(path));

    private static List<string> Lines(string text)
    {
        var t = text.Replace("\r\n", "\n", StringComparison.Ordinal);
        return t.Length == 0 ? [] : [.. t.TrimEnd('\n').Split('\n')];
    }
}
