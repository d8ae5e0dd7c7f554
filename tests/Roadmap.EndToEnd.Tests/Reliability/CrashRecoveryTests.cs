using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;
using Roadmap.Storage.Tests.Sqlite;
using Xunit.Abstractions;

namespace Roadmap.EndToEnd.Tests.Reliability;

/// <summary>
/// The real executable, killed with SIGKILL at random moments during heavy ingest and restarted on the same database,
/// again and again: no committed sample or poll is ever lost, the file is never corrupt, and polling resumes at once.
/// </summary>
/// <remarks>
/// The oracle for "committed" is a separate read-only connection: just before each kill it records, in one read
/// transaction, per series the largest sample timestamp and a digest (count, sum of timestamps, sum of values) of its
/// rows, per source a digest of the polls up to the highest poll id, plus every row of a few random series. A series
/// only ever gains later timestamps and nothing is deleted here, so after the restart the rows up to those bounds must
/// be exactly the recorded ones: a lost row changes a count, a replaced one a sum. Polling has resumed when the first
/// poll the new process stored started within 2 s of the process being launched (not of /readyz: the scheduler starts
/// polling before the host reports ready, so that would always read 0). Tunable with ROADMAP_CRASH_RUNS (default 10: each
/// kill costs about 2 s of every CI run; scripts/soak.sh runs 50),
/// ROADMAP_CRASH_SOURCES (default 100), ROADMAP_CRASH_EVERY (default 100ms) and ROADMAP_CRASH_SEED.
/// </remarks>
[Collection(ReliabilityGroup.Name)]
public sealed class CrashRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan ResumeWithin = TimeSpan.FromSeconds(2);
    private readonly string _dir = Support.TempFolder();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Run_SigkillDuringHeavyIngest_LosesNoCommittedSampleAndResumesPolling()
    {
        var runs = Setting("ROADMAP_CRASH_RUNS", 10);
        var sources = Setting("ROADMAP_CRASH_SOURCES", 100);
        var every = Environment.GetEnvironmentVariable("ROADMAP_CRASH_EVERY") ?? "100ms";
        var seed = Setting("ROADMAP_CRASH_SEED", Random.Shared.Next());
        var random = new Random(seed);
        var time = TimeProvider.System;
        var started = time.GetTimestamp();
        output.WriteLine($"{runs} SIGKILLs, {sources} json sources every {every}, seed {seed}");

        await using var feed = await JsonFeed.StartAsync(sources);
        var config = IngestRig.WriteConfig(_dir, feed.Url, sources, every);
        var database = Path.Combine(_dir, "data", "roadmap.db");
        Snapshot? last = null;
        var clean = 0;
        var resumes = new List<double>();
        var starts = new List<double>();
        var late = new List<string>();
        long samplesChecked = 0;
        long pollsChecked = 0;
        var killsAfterUnseenCommits = 0;

        // runs kills, then one more start that checks the last kill and stops the service gracefully.
        for (var run = 1; run <= runs + 1; run++)
        {
            var port = Support.FreePort();
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            var launchedMs = time.GetUtcNow().ToUnixTimeMilliseconds();
            await using var p = WorkerProcess.Start(_dir, IngestRig.QuietEnvironment(), "run", "--config", config, "--database", database, "--urls", $"http://127.0.0.1:{port}");
            Assert.True(
                await IngestRig.WaitReadyAsync(http, p, TimeSpan.FromSeconds(60)),
                $"start {run}: not ready within 60 s (exited: {p.HasExited}); stderr:\n{p.Stderr}\nstdout:\n{Tail(p.Stdout)}");
            var ready = time.GetTimestamp();
            var readyMs = time.GetUtcNow().ToUnixTimeMilliseconds();

            // Polling resumed: the first poll this process started (its stored start time) is soon after its launch.
            var firstPollMs = await WaitForNewPollAsync(database, last?.MaxPollId ?? 0, launchedMs, ready);
            Assert.True(firstPollMs is not null, $"start {run}: no new poll committed within 30 s of /readyz; stdout:\n{Tail(p.Stdout)}");
            var resumedAfter = TimeSpan.FromMilliseconds(firstPollMs!.Value - launchedMs);
            resumes.Add(resumedAfter.TotalMilliseconds);
            starts.Add(readyMs - launchedMs);
            if (resumedAfter > ResumeWithin)
            {
                // Noted, and failed at the end, so that one run shows every late start, not just the first.
                late.Add($"start {run}: first new poll started {resumedAfter.TotalMilliseconds:F0} ms after the process was launched");
            }

            if (last is not null)
            {
                using var reader = IngestRig.OpenReader(database);
                Assert.Equal("ok", string.Join('\n', reader.Query<string>("PRAGMA integrity_check;")));
                var problems = last.Differences(reader);
                Assert.True(problems.Count == 0, $"after kill {run - 1}: committed data changed:\n{string.Join('\n', problems)}");
                samplesChecked += last.SampleCount;
                pollsChecked += last.PollCount;
                if (reader.ExecuteScalar<long>("SELECT count(*) FROM polls WHERE id > @id AND ts < @launchedMs;", new { id = last.MaxPollId, launchedMs }) > 0)
                {
                    killsAfterUnseenCommits++;
                }

                clean++;
            }

            if (run > runs)
            {
                p.Terminate();
                Assert.True(await p.WaitForExitAsync(TimeSpan.FromSeconds(15)), "not stopped within 15 s of SIGTERM");
                Assert.Equal(0, p.ExitCode);
                break;
            }

            // A random moment within two flush intervals, so kills land before, during and after commits.
            await Task.Delay(random.Next(0, 1000));
            Assert.False(p.HasExited, $"run {run}: the service exited by itself (code {(p.HasExited ? p.ExitCode : 0)}); stderr:\n{p.Stderr}");
            using (var reader = IngestRig.OpenReader(database))
            {
                last = Snapshot.Take(reader, random);
            }

            await p.KillAsync();
            Assert.Equal(128 + 9, p.ExitCode); // died of the SIGKILL, not of anything else
        }

        var elapsed = time.GetElapsedTime(started);
        resumes.Sort();
        starts.Sort();
        output.WriteLine($"{clean} of {runs} clean restarts, 0 committed samples lost ({samplesChecked} samples and {pollsChecked} polls re-checked over all kills; final database: {last!.SampleCount} samples)");
        output.WriteLine($"process launch to the first new poll's start: median {resumes[resumes.Count / 2]:F0} ms, max {resumes[^1]:F0} ms; launch to /readyz: median {starts[starts.Count / 2]:F0} ms, max {starts[^1]:F0} ms");
        output.WriteLine($"{killsAfterUnseenCommits} kills came after commits the oracle had not yet seen");
        output.WriteLine($"feed answered {feed.Requests} requests; took {elapsed.TotalSeconds:F0} s");
        Assert.Equal(runs, clean);
        Assert.True(late.Count == 0, $"polling resumed late ({late.Count} of {runs + 1} starts):\n{string.Join('\n', late)}");
    }

    /// <summary>The start time (unix ms) of the first poll the new process stored, once one is committed; null after 30 s.</summary>
    private static async Task<long?> WaitForNewPollAsync(string database, long afterId, long launchedMs, long readyTimestamp)
    {
        while (true)
        {
            using (var reader = IngestRig.OpenReader(database))
            {
                if (reader.ExecuteScalar<long?>("SELECT min(ts) FROM polls WHERE id > @afterId AND ts >= @launchedMs;", new { afterId, launchedMs }) is { } first)
                {
                    return first;
                }
            }

            if (TimeProvider.System.GetElapsedTime(readyTimestamp) > TimeSpan.FromSeconds(30))
            {
                return null;
            }

            await Task.Delay(25);
        }
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    private static string Tail(string text) => text.Length <= 4000 ? text : text[^4000..];

    /// <summary>
    /// What a reader saw committed. Samples are keyed by (series, ts) and a series only ever gains later timestamps,
    /// so each series' largest committed ts bounds what was committed of it; poll ids bound the polls.
    /// </summary>
    private sealed record Snapshot(
        long MaxPollId,
        Dictionary<long, (long Count, long SumTs, double SumValue, long MaxTs)> Series,
        Dictionary<string, (long Count, long SumTs, long Successes)> Sources,
        Dictionary<long, List<(long Ts, double Value)>> Rows)
    {
        public long SampleCount => Series.Values.Sum(s => s.Count);

        public long PollCount => Sources.Values.Sum(s => s.Count);

        public static Snapshot Take(SqliteConnection c, Random random)
        {
            using var tx = c.BeginTransaction(deferred: true);
            var maxPoll = c.ExecuteScalar<long>("SELECT coalesce(max(id), 0) FROM polls;", transaction: tx);
            // Values and timestamps are integers here, so the sums are exact whatever order SQLite adds them in.
            var hot = HotSamplesTable.Read(c, tx);
            var series = hot.GroupBy(h => h.Series)
                .ToDictionary(g => g.Key, g => (Count: (long)g.Count(), SumTs: g.Sum(h => h.Ts), SumValue: g.Sum(h => h.Value), MaxTs: g.Max(h => h.Ts)));
            var sources = Polls(c, tx, maxPoll);
            var rows = new Dictionary<long, List<(long, double)>>();
            foreach (var id in series.Keys.OrderBy(_ => random.Next()).Take(3))
            {
                rows[id] = RowsOf(hot, id, series[id].MaxTs);
            }

            tx.Commit();
            return new Snapshot(maxPoll, series, sources, rows);
        }

        /// <summary>Every way the committed rows differ from what was recorded; empty when none.</summary>
        public List<string> Differences(SqliteConnection c)
        {
            using var tx = c.BeginTransaction(deferred: true);
            var problems = new List<string>();
            var hot = HotSamplesTable.Read(c, tx);
            foreach (var (id, was) in Series)
            {
                var of = hot.Where(h => h.Series == id && h.Ts <= was.MaxTs).ToList();
                var now = (Count: (long)of.Count, SumTs: of.Sum(h => h.Ts), SumValue: of.Sum(h => h.Value));
                if (now != (was.Count, was.SumTs, was.SumValue))
                {
                    problems.Add($"series {id}: {was.Count} samples committed up to ts {was.MaxTs}, {now.Count} found (ts sum {was.SumTs} -> {now.SumTs}, value sum {was.SumValue} -> {now.SumValue})");
                }
            }

            var sources = Polls(c, tx, MaxPollId);
            foreach (var (source, was) in Sources)
            {
                var now = sources.GetValueOrDefault(source);
                if (now != was)
                {
                    problems.Add($"polls of {source}: {was.Count} committed, {now.Count} found");
                }
            }

            foreach (var (id, was) in Rows)
            {
                var now = RowsOf(hot, id, Series[id].MaxTs);
                if (!now.SequenceEqual(was))
                {
                    problems.Add($"series {id}: rows differ ({was.Count} recorded, {now.Count} found; first recorded missing: {was.Except(now).FirstOrDefault()})");
                }
            }

            tx.Commit();
            return problems;
        }

        private static Dictionary<string, (long Count, long SumTs, long Successes)> Polls(SqliteConnection c, SqliteTransaction tx, long maxPoll) =>
            c.Query<(string Source, long Count, long SumTs, long Successes)>(
                "SELECT source, count(*), sum(ts), sum(outcome = 'success') FROM polls WHERE id <= @maxPoll GROUP BY source;", new { maxPoll }, tx)
                .ToDictionary(r => r.Source, r => (r.Count, r.SumTs, r.Successes));

        private static List<(long, double)> RowsOf(List<(long Series, long Ts, double Value)> hot, long seriesId, long maxTs) =>
            [.. hot.Where(h => h.Series == seriesId && h.Ts <= maxTs).OrderBy(h => h.Ts).Select(h => (h.Ts, h.Value))];
    }
}
