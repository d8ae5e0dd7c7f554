using System.Text.Json.Nodes;
using Roadmap.Worker.Cli;
using Roadmap.Worker.Reporting;
using Roadmap.Worker.Tests.Updates;

namespace Roadmap.Worker.Tests.Reporting;

/// <summary><c>report --since</c>: the scheduled updates' "what changed" section, from the stored evaluations.</summary>
public sealed class ReportSinceTests : IDisposable
{
    private readonly UpdateRig _rig = new("[]");

    public void Dispose() => _rig.Dispose();

    private async Task<(int Exit, string Stdout, string Stderr)> ReportAsync(string format, string since)
    {
        await _rig.SeedAsync();
        _rig.Time.SetUtcNow(UpdateRig.Now);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ReportCommand.RunAsync(_rig.Config, Path.Combine(_rig.Dir, "roadmap.db"), format, stdout, stderr, _rig.Time, since);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task RunAsync_SinceADate_PrintsWhatChangedSinceTheStartOfThatDayThenTheTable()
    {
        var (exit, stdout, stderr) = await ReportAsync("markdown", "2026-11-26");

        Assert.Equal("", stderr);
        Assert.Equal(0, exit);
        var lines = stdout.Split('\n');
        Assert.Equal("## What changed since 2026-11-26T00:00:00Z", lines[0]);
        var met = lines[Array.IndexOf(lines, "**Newly met**") + 1];
        Assert.Contains("System uptime", met, StringComparison.Ordinal);
        // The statuses stored at 09:00 are after the start of the day: before them, nothing was stored.
        Assert.Contains("(first judged)", met, StringComparison.Ordinal);
        Assert.Contains("**Blocked**: not known (no update had gone out by then)", lines);
        Assert.Contains(MarkdownRenderer.HeaderRow, lines);
    }

    [Fact]
    public async Task RunAsync_SinceAnInstant_ComparesWithTheStatusesStoredThen()
    {
        var (exit, stdout, _) = await ReportAsync("json", "2026-11-26T10:00:00Z");

        Assert.Equal(0, exit);
        var changes = JsonNode.Parse(stdout)!["changes"]!;
        var met = Assert.Single(changes["newlyMet"]!.AsArray())!;
        Assert.Equal(("uptime", "at_risk"), ((string?)met["kpi"], (string?)met["from"]));
        var missed = Assert.Single(changes["newlyMissed"]!.AsArray())!;
        Assert.Equal(("latency", "met"), ((string?)missed["kpi"], (string?)missed["from"]));
        Assert.Empty(changes["newlyAtRisk"]!.AsArray());
    }

    [Fact]
    public async Task RunAsync_SinceNotADate_IsAUsageError()
    {
        var (exit, stdout, stderr) = await ReportAsync("markdown", "last week");

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Contains("bad --since \"last week\"", stderr, StringComparison.Ordinal);
    }
}
