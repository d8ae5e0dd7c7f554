using Roadmap.Worker.Cli;

namespace Roadmap.Worker.Tests.Cli;

public class CommandLineTests
{
    /// <summary>args | verb | options as "name=value" pairs, in any order.</summary>
    public static TheoryData<string[], string, string[]> ValidCommandLines => new()
    {
        { [], "run", [] },
        { ["run"], "run", [] },
        { ["validate"], "validate", [] },
        { ["check"], "check", [] },
        { ["--config", "roadmap.yaml"], "run", ["config=roadmap.yaml"] },
        { ["--database=data/x.db"], "run", ["database=data/x.db"] },
        {
            ["run", "--config", "c.yaml", "--database", "d.db", "--urls", "http://127.0.0.1:9810"],
            "run",
            ["config=c.yaml", "database=d.db", "urls=http://127.0.0.1:9810"]
        },
        { ["run", "--config=c.yaml", "--database=d.db", "--urls=http://127.0.0.1:9810"], "run", ["config=c.yaml", "database=d.db", "urls=http://127.0.0.1:9810"] },
        { ["validate", "--config", "config/roadmap.yaml"], "validate", ["config=config/roadmap.yaml"] },
        { ["validate", "--config=config/roadmap.yaml"], "validate", ["config=config/roadmap.yaml"] },
        { ["check", "--config", "c.yaml"], "check", ["config=c.yaml"] },
        { ["check", "--config=c.yaml"], "check", ["config=c.yaml"] },
        // Only the first '=' separates the name from the value.
        { ["validate", "--config=a=b.yaml"], "validate", ["config=a=b.yaml"] },
        // A path with spaces arrives as one argument.
        { ["validate", "--config", "my roadmap.yaml"], "validate", ["config=my roadmap.yaml"] },
        // The last of a repeated option wins.
        { ["validate", "--config", "a.yaml", "--config", "b.yaml"], "validate", ["config=b.yaml"] },
    };

    [Theory]
    [MemberData(nameof(ValidCommandLines))]
    public void Parse_ValidArguments_ReturnsVerbAndOptions(string[] args, string verb, string[] options)
    {
        var command = CommandLine.Parse(args, out var error);

        Assert.Null(error);
        Assert.NotNull(command);
        Assert.Equal(verb, command.Verb);
        Assert.Equal(options.Order(StringComparer.Ordinal), command.Options.Select(o => $"{o.Key}={o.Value}").Order(StringComparer.Ordinal));
    }

    /// <summary>args | the exact reason.</summary>
    public static TheoryData<string[], string> InvalidCommandLines => new()
    {
        { ["serve"], "unknown verb \"serve\"" },
        { ["Validate"], "unknown verb \"Validate\"" },
        { ["validate", "--database", "d.db"], "unknown option --database for validate" },
        { ["check", "--urls", "http://127.0.0.1:9810"], "unknown option --urls for check" },
        { ["run", "--verbose", "true"], "unknown option --verbose for run" },
        { ["--format=json"], "unknown option --format for run" },
        { ["validate", "--config"], "option --config needs a value" },
        { ["run", "--config", "c.yaml", "--database"], "option --database needs a value" },
        { ["--config"], "option --config needs a value" },
        { ["validate", "config/roadmap.yaml"], "unexpected argument \"config/roadmap.yaml\"" },
        { ["validate", "-c", "c.yaml"], "unexpected argument \"-c\"" },
        { ["run", "check"], "unexpected argument \"check\"" },
        // An empty value (e.g. --config=$UNSET_VAR in a script) is as missing as no value at all.
        { ["validate", "--config="], "option --config needs a value" },
        { ["validate", "--config", ""], "option --config needs a value" },
    };

    [Theory]
    [MemberData(nameof(InvalidCommandLines))]
    public void Parse_InvalidArguments_ReturnsNullWithReason(string[] args, string reason)
    {
        var command = CommandLine.Parse(args, out var error);

        Assert.Null(command);
        Assert.Equal(reason, error);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public async Task RunAsync_Help_PrintsUsageAndExitsZero(string arg)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await RoadmapCli.RunAsync([arg], stdout, stderr);

        Assert.Equal(RoadmapCli.Ok, exit);
        Assert.Equal(CommandLine.Usage + Environment.NewLine, stdout.ToString());
        Assert.Equal("", stderr.ToString());
    }

    [Theory]
    [InlineData(new[] { "serve" }, "unknown verb \"serve\"")]
    [InlineData(new[] { "validate", "--database", "d.db" }, "unknown option --database for validate")]
    [InlineData(new[] { "validate", "--config" }, "option --config needs a value")]
    [InlineData(new[] { "check", "roadmap.yaml" }, "unexpected argument \"roadmap.yaml\"")]
    public async Task RunAsync_UsageError_PrintsReasonAndUsageAndExitsTwo(string[] args, string reason)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await RoadmapCli.RunAsync(args, stdout, stderr);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Equal("", stdout.ToString());
        Assert.Equal($"error: {reason}{Environment.NewLine}{CommandLine.Usage}{Environment.NewLine}", stderr.ToString());
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("a-name-much-longer-than-sixty-four-characters-which-no-metric-label-or-table-should-carry")]
    public async Task RunAsync_BadInstanceId_ExitsTwoBeforeOpeningAnything(string id)
    {
        // The id lands in the polls table, in Quartz's cluster table and as a metric label: it is checked at the door.
        using var folder = new TempFolder();
        var config = Path.Combine(folder.Path, "roadmap.yaml");
        var database = Path.Combine(folder.Path, "r.db");
        File.WriteAllText(config, "roadmap: { name: R }\n");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await RoadmapCli.RunAsync(["run", "--config", config, "--database", database, "--instance-id", id], stdout, stderr);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Contains("an instance id is 1 to 64 letters, digits", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(database));
    }

    [Theory]
    [InlineData("run")]
    [InlineData("report")]
    public async Task RunAsync_DatabaseWithPostgresStorage_ExitsTwoAndCreatesNothing(string verb)
    {
        // --database names the SQLite file: beside kind postgres it would be silently ignored, or worse, obeyed.
        using var folder = new TempFolder();
        var config = Path.Combine(folder.Path, "roadmap.yaml");
        var database = Path.Combine(folder.Path, "r.db");
        File.WriteAllText(config, "roadmap: { name: R }\nsettings:\n  storage: { kind: postgres, connectionString: \"Host=127.0.0.1;Port=1;Password=pg-Secret-77\" }\n");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await RoadmapCli.RunAsync([verb, "--config", config, "--database", database], stdout, stderr);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.Contains("--database names the SQLite file, but settings.storage.kind is postgres", stderr.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("pg-Secret-77", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(database));
    }

    [Theory]
    [InlineData("--config=")]
    [InlineData("--config", "")]
    public async Task RunAsync_EmptyConfigPath_ExitsTwoInsteadOfThrowing(params string[] option)
    {
        // Today File.ReadAllText("") throws ArgumentException out of RunAsync: the process dies with a stack trace.
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await RoadmapCli.RunAsync(["validate", .. option], stdout, stderr);

        Assert.Equal(RoadmapCli.BadConfigOrUsage, exit);
        Assert.NotEqual("", stderr.ToString());
    }

    [Fact]
    public void VerbOptions_ListsEveryVerbInTheUsage()
    {
        foreach (var (verb, options) in CommandLine.VerbOptions)
        {
            Assert.Contains($"  {verb} ", CommandLine.Usage, StringComparison.Ordinal);
            Assert.All(options, o => Assert.Contains($"--{o} ", CommandLine.Usage, StringComparison.Ordinal));
        }
    }
}
