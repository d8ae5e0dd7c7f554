using System.Text.Json;
using Roadmap.Worker.Cli;

namespace Roadmap.Worker.Tests.Reporting;

/// <summary>The report verb on a known config and a real database with known samples.</summary>
public sealed class ReportCommandTests : IDisposable
{
    private readonly ReportFixture _f = new();

    public void Dispose() => _f.Dispose();

    private async Task<(int Exit, string Stdout, string Stderr)> ReportAsync(string format, string? database = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ReportCommand.RunAsync(_f.Config, database ?? _f.DatabasePath, format, stdout, stderr, _f.Time);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task RunAsync_Markdown_PrintsTheSeedTableWithEveryStatusAndEscapedCells()
    {
        await _f.WriteSamplesAsync();

        var (exit, stdout, stderr) = await ReportAsync("markdown");

        Assert.Equal("", stderr);
        Assert.Equal(0, exit);
        string[] expected =
        [
            "# Shop \\| platform",
            "",
            "Fast and safe.",
            "",
            "Goals:",
            "",
            "- Scale up",
            "",
            "KPIs evaluated at 2026-11-26T12:00:00Z.",
            "",
            "| Initiative | Timeline | Technical Details | Dependencies | Risks | Mitigation | KPIs (value vs target, status) | Health |",
            "|---|---|---|---|---|---|---|---|",
            "| Migrate &lt;script>alert(1)&lt;/script> \\| cloud<br>(in progress, platform-team) | 2026-Q4 (2026-10-01 to 2026-12-31) | Move to EC2 \\| S3. | Optimize database performance | 1. Downtime<br>2. Data loss | 1. Blue-green cut-over<br>2. Checksums | System uptime: 100% vs >= 99.9%, met (1h window, 30 min observed)<br>Response time: 0.5 s vs <= 0.3, missed (1h window, 30 min observed) — why: 0.5 s misses the target <= 0.3 by 0.2 s | missed; blocked by Optimize database performance |",
            "| Optimize database performance<br>(planned, data-team) | 2026-10-01 to 2027-03-31 | — | none | none | none | Database query time: 0.1 s vs <= 0.05 by 2027-03-31, at risk (1h window, 30 min observed) — why: its source db has failed every poll since 2026-11-26 11:30:00 UTC: connection refused; 0.1 s misses the target <= 0.05 by 0.05 s<br>errors: no value vs == 200, no data (1h window, 0 s observed) — why: its source db has failed every poll since 2026-11-26 11:30:00 UTC: connection refused | at risk |",
            "| Implement enhanced security<br>(planned) | 2027-Q2 (2027-04-01 to 2027-06-30) | — | Migrate &lt;script>alert(1)&lt;/script> \\| cloud | Breach | — | none | planned |",
        ];
        Assert.Equal(expected, stdout.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task RunAsync_Html_PrintsTheBoardWithoutItsRefresh()
    {
        await _f.WriteSamplesAsync();

        var (exit, stdout, _) = await ReportAsync("html");

        Assert.Equal(0, exit);
        Assert.StartsWith("<!DOCTYPE html>\n<html lang=\"en\">", stdout);
        Assert.DoesNotContain("http-equiv=\"refresh\"", stdout);
        Assert.Contains("<time datetime=\"2026-11-26T12:00:00Z\">2026-11-26 12:00:00 UTC</time>", stdout);
        Assert.Contains("<li data-kpi=\"uptime\" data-status=\"met\"><span class=\"status s-met\">met</span>", stdout);
        Assert.Contains("<li data-kpi=\"latency\" data-status=\"missed\"><span class=\"status s-missed\">missed</span>", stdout);
        Assert.Contains("<li data-kpi=\"query-time\" data-status=\"at_risk\"><span class=\"status s-at_risk\">at risk</span>", stdout);
        Assert.Contains("<li data-kpi=\"errors\" data-status=\"no_data\"><span class=\"status s-no_data\">no data</span>", stdout);
        Assert.DoesNotContain("<script", stdout);
        // A report is a file: no links back to the service it came from.
        Assert.DoesNotContain("href=\"/", stdout);
    }

    [Fact]
    public async Task RunAsync_Json_PrintsTheApiDocument()
    {
        await _f.WriteSamplesAsync();

        var (exit, stdout, _) = await ReportAsync("json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.Equal("Shop | platform", root.GetProperty("name").GetString());
        Assert.Equal("2026-11-26T12:00:00Z", root.GetProperty("evaluatedAt").GetString());
        var statuses = root.GetProperty("initiatives").EnumerateArray()
            .SelectMany(i => i.GetProperty("kpis").EnumerateArray().Select(k => $"{i.GetProperty("id").GetString()}/{k.GetProperty("id").GetString()}={k.GetProperty("status").GetString()}"));
        Assert.Equal(["cloud/uptime=met", "cloud/latency=missed", "db-perf/query-time=at_risk", "db-perf/errors=no_data"], statuses);
        Assert.Equal(["missed", "at_risk", "planned"], root.GetProperty("initiatives").EnumerateArray().Select(i => i.GetProperty("health").GetString()));
    }

    [Fact]
    public async Task RunAsync_Twice_StoresNoEvaluationHistory()
    {
        static long Rows(string path)
        {
            using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT count(*) FROM evaluations;";
            return (long)cmd.ExecuteScalar()!;
        }

        var database = await _f.WriteSamplesAsync();
        _f.Evaluation(database).EvaluateAll(); // the service's own history: one row per KPI
        var before = Rows(_f.DatabasePath);
        Assert.True(before > 0);
        _f.Time.Advance(TimeSpan.FromMinutes(10)); // past the history spacing: a storing evaluation would add rows now

        Assert.Equal(0, (await ReportAsync("markdown")).Exit);
        Assert.Equal(0, (await ReportAsync("json")).Exit);

        // A report is a read: the live service's history must not gain points from it.
        Assert.Equal(before, Rows(_f.DatabasePath));
    }

    [Fact]
    public async Task RunAsync_NoDatabase_Exits1AndCreatesNone()
    {
        var missing = Path.Combine(_f.Dir, "data", "roadmap.db");

        var (exit, stdout, stderr) = await ReportAsync("markdown", missing);

        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.Equal($"error: no database at {missing}: the report reads what the service has stored (start it with run, or pass --database); none was created\n", stderr.ReplaceLineEndings("\n"));
        Assert.False(Directory.Exists(Path.Combine(_f.Dir, "data")));
    }

    [Fact]
    public async Task RunAsync_NotADatabase_Exits1()
    {
        await File.WriteAllTextAsync(_f.DatabasePath, "this is not a SQLite file, it is long enough to have a header of its own...........");

        var (exit, stdout, stderr) = await ReportAsync("markdown");

        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith($"error: cannot open the database {_f.DatabasePath}", stderr);
    }

    [Fact]
    public async Task RunAsync_CorruptRollupInTheDatabase_Exits1NamingTheDatabase()
    {
        // A damaged sketch is not a driver error: the backend reports it as a storage failure like any other, and
        // the report says so instead of crashing with whatever the decoder threw.
        await _f.WriteSamplesAsync();
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_f.DatabasePath};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE rollups_hour SET sketch = x'ff00ff'; UPDATE rollups_day SET sketch = x'ff00ff';";
            Assert.True(cmd.ExecuteNonQuery() > 0);
        }

        var (exit, stdout, stderr) = await ReportAsync("markdown");

        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        Assert.StartsWith($"error: cannot read the database {_f.DatabasePath}: quantile sketch bytes", stderr);
    }

    [Fact]
    public async Task RunAsync_UnknownFormat_Exits2()
    {
        await _f.WriteSamplesAsync();

        var (exit, stdout, stderr) = await ReportAsync("pdf");

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal("error: unknown format \"pdf\"; expected markdown, html or json\n", stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task RunAsync_ThroughTheCli_ParsesReportVerbAndDefaultsToMarkdown()
    {
        await _f.WriteSamplesAsync();
        var config = Path.Combine(_f.Dir, "shop.yaml");
        await File.WriteAllTextAsync(config, ReportFixture.Yaml);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await RoadmapCli.RunAsync(["report", "--config", config, "--database", _f.DatabasePath], stdout, stderr);

        Assert.True(exit == 0, stderr.ToString());
        Assert.Contains("\n| Initiative | Timeline | Technical Details | Dependencies | Risks | Mitigation | KPIs (value vs target, status) | Health |\n", stdout.ToString());
    }

    [Theory]
    [InlineData(new[] { "report" }, "")]
    [InlineData(new[] { "report", "--format", "json" }, "format=json")]
    [InlineData(new[] { "report", "--config=c.yaml", "--database", "d.db", "--format=html" }, "config=c.yaml database=d.db format=html")]
    public void Parse_ReportVerb_TakesConfigDatabaseAndFormat(string[] args, string options)
    {
        var command = CommandLine.Parse(args, out var error);

        Assert.Null(error);
        Assert.Equal("report", command!.Verb);
        Assert.Equal(options, string.Join(" ", command.Options.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}={o.Value}")));
    }

    [Theory]
    [InlineData(new[] { "report", "--urls", "http://127.0.0.1:1" }, "unknown option --urls for report")]
    [InlineData(new[] { "report", "--format" }, "option --format needs a value")]
    [InlineData(new[] { "report", "json" }, "unexpected argument \"json\"")]
    public void Parse_ReportVerbBadArguments_IsAUsageError(string[] args, string reason)
    {
        Assert.Null(CommandLine.Parse(args, out var error));
        Assert.Equal(reason, error);
    }

    [Fact]
    public async Task RunAsync_Help_ListsTheReportVerb()
    {
        using var stdout = new StringWriter();

        await RoadmapCli.RunAsync(["--help"], stdout, TextWriter.Null);

        Assert.Contains("report    [--config PATH] [--database PATH] [--format FORMAT]", stdout.ToString());
        Assert.Contains("--format FORMAT  markdown (default), html or json", stdout.ToString());
    }
}
