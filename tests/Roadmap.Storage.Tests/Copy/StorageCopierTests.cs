using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Evaluation;
using Roadmap.Storage.Chunks;
using Roadmap.Storage.Copy;
using Roadmap.Storage.Sqlite;
using Roadmap.Storage.Tests.Sqlite;

namespace Roadmap.Storage.Tests.Copy;

/// <summary>
/// Copies from a SQLite source (written through the service's own writer and stores) into a destination backend; one
/// concrete subclass per destination backend.
/// </summary>
public abstract class StorageCopierTests : IDisposable
{
    protected static readonly DateTimeOffset T0 = TestClock.RecentMidnight;

    // Small pages, so every stream spans several batches and pages end inside runs of rows that share a key.
    private const int Batch = 7;

    private static readonly string[] Sources = ["web", "db", "queue"];
    private static readonly string[] Signals = ["up", "latency_seconds"];
    private static readonly (string Initiative, string Kpi)[] Kpis = [("checkout", "availability"), ("checkout", "latency"), ("search", "p95")];

    /// <summary>When the source's closed ranges were sealed: the third day at 02:30.</summary>
    private static readonly DateTimeOffset SealedAt = T0.AddDays(2).AddMinutes(150);

    /// <summary>A writer under these never seals a chunk: the tests seal at <see cref="SealedAt"/> themselves.</summary>
    private static readonly StorageOptions NeverCompact = new() { CompactGrace = TimeSpan.FromDays(3650) };

    private readonly TempDatabase _source = new();

    protected StorageCopierTests(CopyDestination destination)
    {
        Destination = destination;
        WriteSource().GetAwaiter().GetResult();
    }

    protected CopyDestination Destination { get; }

    public void Dispose()
    {
        Destination.Dispose();
        _source.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public void Run_IntoAnEmptyDestination_CopiesEveryTableAndBothSidesAnswerAlike()
    {
        CopyOutcome outcome;
        using (var source = HistoryStores.OpenSqliteExport(_source.DatabasePath))
        using (var import = Destination.OpenImport(source))
        {
            outcome = new StorageCopier(source, import, Batch).Run();
        }

        Assert.True(outcome.Verified, string.Join("\n", outcome.Differences));
        Assert.Equal(StorageCopier.Tables.Count, outcome.Tables.Count);
        Assert.All(outcome.Tables, t => Assert.True(t.SourceRows > 0 && t.DestinationRows == t.SourceRows && t.Copied == t.SourceRows, t.ToString()));

        var a = RoadmapDatabase.Open(_source.DatabasePath);
        var b = Destination.OpenStorage();
        var (from, to) = (T0.AddDays(-1), T0.AddDays(4));
        foreach (var source in Sources)
        {
            Assert.Equal(a.Samples.Polls(source, from, to), b.Samples.Polls(source, from, to));
            foreach (var signal in Signals)
            {
                Assert.Equal(a.Samples.Read(source, signal, from, to), b.Samples.Read(source, signal, from, to));
                // Windows of every shape: raw edges, hours and days in the middle, so the copied rollups are read too.
                foreach (var (start, end) in new[] { (T0.AddMinutes(17), T0.AddDays(2).AddMinutes(-3)), (from, to), (T0.AddHours(5), T0.AddHours(6)) })
                {
                    var x = a.Samples.Summarize(source, signal, start, end);
                    var y = b.Samples.Summarize(source, signal, start, end);
                    Assert.Equal((x.Count, x.Sum, x.Min, x.Max, x.Increase, x.Sketch.Quantile(0.95)), (y.Count, y.Sum, y.Min, y.Max, y.Increase, y.Sketch.Quantile(0.95)));
                }
            }
        }

        foreach (var (initiative, kpi) in Kpis)
        {
            Assert.Equal(a.Evaluations.History(initiative, kpi, from, to), b.Evaluations.History(initiative, kpi, from, to));
            Assert.Equal(
                a.Evaluations.Baseline(initiative, kpi, new DateOnly(2026, 10, 1), new DateOnly(2026, 10, 31), "avg(web:up)"),
                b.Evaluations.Baseline(initiative, kpi, new DateOnly(2026, 10, 1), new DateOnly(2026, 10, 31), "avg(web:up)"));
        }

        Assert.Equal(a.Evaluations.Latest().OrderBy(k => k.Key), b.Evaluations.Latest().OrderBy(k => k.Key));
        Assert.Equivalent(a.Updates.Last("weekly"), b.Updates.Last("weekly"), strict: true);
        Assert.Equivalent(a.Updates.Last("daily"), b.Updates.Last("daily"), strict: true);
        Assert.Equal(a.Updates.StatusesAt(to).OrderBy(s => s.Kpi), b.Updates.StatusesAt(to).OrderBy(s => s.Kpi));
    }

    [Fact]
    public void Run_CompactedSource_TheDestinationHoldsTheSameChunksByteForByteAndTheSameHotRows()
    {
        var chunks = SqliteCopyDestination.ChunkRows(_source.DatabasePath);
        var hot = SqliteCopyDestination.HotRows(_source.DatabasePath);
        // The source as WriteSource sealed it: per series two day chunks and two hour chunks; hot rows after them.
        Assert.Equal(6 * 4, chunks.Count);
        Assert.Contains(chunks, c => c.StartsWith($"web/up {T0.AddDays(2).AddHours(1).ToUnixTimeMilliseconds()} {T0.AddDays(2).AddHours(2).ToUnixTimeMilliseconds()} ", StringComparison.Ordinal));
        Assert.Contains(hot, h => h.StartsWith($"web/latency_seconds {T0.AddMinutes(300).ToUnixTimeMilliseconds()} ", StringComparison.Ordinal));

        CopyOutcome outcome;
        using (var source = HistoryStores.OpenSqliteExport(_source.DatabasePath))
        using (var import = Destination.OpenImport(source))
        {
            outcome = new StorageCopier(source, import, Batch).Run();
        }

        Assert.True(outcome.Verified, string.Join("\n", outcome.Differences));
        Assert.Contains(outcome.Tables, t => t.Table == HistoryTable.Chunks && t.SourceRows == chunks.Count && t.Copied == chunks.Count);
        // Every chunk's columns and bytes as they are (nothing decoded and sealed again), and the hot rows still hot.
        Assert.Equal(chunks, Destination.ChunkRows());
        Assert.Equal(hot, Destination.HotRows());
    }

    [Theory]
    [InlineData("a flipped byte", "corrupt chunk: its checksum does not match")]
    [InlineData("a cut end", "corrupt chunk: ")]
    [InlineData("a count its row does not hold", "samples, its row says")]
    [InlineData("more bytes than any chunk", "more than a chunk can be")]
    public void Run_SourceChunkDamaged_FailsNamingItsSeriesAndRangeAndCopiesNoneOfIt(string damage, string why)
    {
        var (start, end) = (T0.AddDays(1), T0.AddDays(2));
        var at = start.ToUnixTimeMilliseconds();
        var where = $"series_id = (SELECT id FROM series WHERE source = 'web' AND signal = 'latency_seconds') AND start_ts = {at}";
        using (var c = new SqliteConnection($"Data Source={_source.DatabasePath};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = damage switch
            {
                "a flipped byte" =>
                    $"UPDATE chunks SET data = substr(data, 1, length(data) / 2) || CASE WHEN substr(data, length(data) / 2 + 1, 1) = x'5a' THEN x'a5' ELSE x'5a' END || substr(data, length(data) / 2 + 2) WHERE {where};",
                "a cut end" => $"UPDATE chunks SET data = substr(data, 1, length(data) - 3) WHERE {where};",
                "a count its row does not hold" => $"UPDATE chunks SET count = count + 1 WHERE {where};",
                _ => $"UPDATE chunks SET data = zeroblob({ChunkCodec.MaxBytes + 1}) WHERE {where};",
            };
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }

        var chunks = new HistoryStreamId(HistoryTable.Chunks, "web", "latency_seconds");
        using var source = HistoryStores.OpenSqliteExport(_source.DatabasePath);
        using var import = Destination.OpenImport(source);

        var e = Assert.Throws<StorageException>(() => new StorageCopier(source, import, Batch).Run());

        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"the chunk of web/latency_seconds for {start:yyyy-MM-dd HH:mm} UTC to {end:yyyy-MM-dd HH:mm} UTC (start_ts {at}) is damaged: "), e.Message);
        Assert.Contains(why, e.Message);
        Assert.DoesNotContain(import.Read(chunks, StreamPosition.Start, 100), r => r.Key == at);
    }

    [Theory]
    [InlineData(new[] { 1, 1, 2, 3 })]
    [InlineData(new[] { 5, 60 })]
    [InlineData(new[] { 300 })]
    public void Run_InterruptedAtSeveralPoints_ResumesWithoutDuplicatesOrLoss(int[] interruptAfterPages)
    {
        // Each run interrupted once, after its given number of pages; then one more run to the end.
        var copiedBefore = 0L;
        foreach (var pagesThisRun in interruptAfterPages)
        {
            using var source = HistoryStores.OpenSqliteExport(_source.DatabasePath);
            using var import = Destination.OpenImport(source);
            using var cts = new CancellationTokenSource();
            var pages = 0;
            CopyProgress? previous = null;
            Assert.Throws<OperationCanceledException>(() => new StorageCopier(source, import, Batch).Run(
                p =>
                {
                    // A page copied: the same table's count grew (each table's first report is where it starts).
                    if (p.Phase == CopyPhase.Copying && previous is { } q && q.Phase == p.Phase && q.Table == p.Table && p.Done > q.Done && ++pages >= pagesThisRun)
                    {
                        cts.Cancel();
                    }

                    previous = p;
                },
                cts.Token));

            // Each run got further, and no table ever holds more than the source's.
            var copied = StorageCopier.Tables.Sum(import.Count);
            Assert.True(copied > copiedBefore, $"{copied} rows after the run, {copiedBefore} before");
            copiedBefore = copied;
            foreach (var table in StorageCopier.Tables)
            {
                Assert.True(import.Count(table) <= source.Count(table), $"{table}: {import.Count(table)} > {source.Count(table)}");
            }
        }

        using (var source = HistoryStores.OpenSqliteExport(_source.DatabasePath))
        using (var import = Destination.OpenImport(source))
        {
            var outcome = new StorageCopier(source, import, Batch).Run();
            Assert.True(outcome.Verified, string.Join("\n", outcome.Differences));
            Assert.All(outcome.Tables, t => Assert.Equal(t.SourceRows, t.DestinationRows));
            Assert.Equal(StorageCopier.Tables.Sum(source.Count) - copiedBefore, outcome.Tables.Sum(t => t.Copied));
        }
    }

    [Fact]
    public void Run_InterruptedWhileVerifying_TheNextRunCopiesNothingAndVerifies()
    {
        using var source = HistoryStores.OpenSqliteExport(_source.DatabasePath);
        using var import = Destination.OpenImport(source);
        using var cts = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => new StorageCopier(source, import, Batch).Run(
            p =>
            {
                if (p.Phase == CopyPhase.Verifying)
                {
                    cts.Cancel();
                }
            },
            cts.Token));

        var outcome = new StorageCopier(source, import, Batch).Run();

        Assert.True(outcome.Verified);
        Assert.All(outcome.Tables, t => Assert.Equal(0, t.Copied));
    }

    [Fact]
    public void Run_DestinationHoldsOtherDataForASeries_ReportsTheConflictAndWritesNothing()
    {
        var stream = new HistoryStreamId(HistoryTable.Samples, "web", "up");
        var poll = new HistoryStreamId(HistoryTable.Polls, "db", "");
        using (var source = HistoryStores.OpenSqliteExport(_source.DatabasePath))
        using (var import = Destination.OpenImport(source))
        {
            // The series' first sample as the source has it, then one the source does not have: not a prefix.
            var first = (HistorySampleRow)source.Read(stream, StreamPosition.Start, 1)[0];
            import.Insert(stream, [first, new HistorySampleRow(first.Ts + 1, 42)]);
            // A stream that is a true prefix of the source's is no conflict.
            import.Insert(poll, source.Read(poll, StreamPosition.Start, 3));

            var outcome = new StorageCopier(source, import, Batch).Run();

            var conflict = Assert.Single(outcome.Conflicts);
            Assert.Equal(stream, conflict.Stream);
            Assert.Equal(2, conflict.Destination.Rows);
            Assert.NotEqual(conflict.Source, conflict.Destination);
            Assert.False(outcome.Verified);
            Assert.Equal(2, import.Count(HistoryTable.Samples));
            Assert.Equal(3, import.Count(HistoryTable.Polls));
            Assert.Equal(0, import.Count(HistoryTable.Evaluations));
        }
    }

    [Fact]
    public void Verify_DestinationChangedAfterTheCopy_ReportsTheStreamThatDiffers()
    {
        using var source = HistoryStores.OpenSqliteExport(_source.DatabasePath);
        using var import = Destination.OpenImport(source);
        var copier = new StorageCopier(source, import, Batch);
        Assert.True(copier.Run().Verified);
        var stream = new HistoryStreamId(HistoryTable.Evaluations, "search", "p95");
        var last = (HistoryEvaluationRow)source.Read(stream, StreamPosition.Start, 1000)[^1];

        // The same row twice: a duplicate is a difference, though every value in it is the source's.
        import.Insert(stream, [last]);
        var outcome = copier.Verify();

        var difference = Assert.Single(outcome.Differences);
        Assert.Equal(stream, difference.Stream);
        Assert.Equal(difference.Source.Rows + 1, difference.Destination.Rows);
        Assert.Contains(outcome.Tables, t => t.Table == HistoryTable.Evaluations && t.DestinationRows == t.SourceRows + 1);
        Assert.False(outcome.Verified);
    }

    [Theory]
    [InlineData(HistoryTable.Samples, "web", "up")]
    [InlineData(HistoryTable.Chunks, "web", "up")]
    [InlineData(HistoryTable.RollupsHour, "web", "up")]
    [InlineData(HistoryTable.RollupsDay, "web", "up")]
    [InlineData(HistoryTable.Baselines, "checkout", "availability")]
    [InlineData(HistoryTable.UpdateDeliveries, "weekly", "")]
    public void Insert_RowsWhoseKeyIsStored_LeavesTheStoredOnesAndAddsTheOthers(HistoryTable table, string name, string part)
    {
        var stream = new HistoryStreamId(table, name, part);
        using var source = HistoryStores.OpenSqliteExport(_source.DatabasePath);
        using var import = Destination.OpenImport(source);
        var rows = source.Read(stream, StreamPosition.Start, 3);
        Assert.True(rows.Count >= 2, $"{stream}: {rows.Count} rows");
        // The first row stored already, with other values under the same key.
        HistoryRow stored = rows[0] switch
        {
            HistorySampleRow r => r with { Value = r.Value + 42 },
            HistoryChunkRow r => r with { Count = r.Count + 42 },
            HistoryRollupRow r => r with { Count = r.Count + 42 },
            HistoryBaselineRow r => r with { Value = r.Value + 42 },
            HistoryDeliveryRow r => r with { Attempts = r.Attempts + 42 },
            var r => r,
        };
        import.Insert(stream, [stored]);

        import.Insert(stream, rows);

        Assert.Equal(Digest([stored, .. rows.Skip(1)]), Digest([.. import.Read(stream, StreamPosition.Start, 100)]));
    }

    [Fact]
    public void Verify_SameRowsInAnotherOrderWithinAKey_Match()
    {
        // Rows that share a key may come back in another order from another backend: their checksum is the same.
        var x = new HistoryPollRow(1000, 12, "success", null);
        var y = new HistoryPollRow(1000, 15, "failure", "HTTP 500");
        var z = new HistoryPollRow(2000, 15, "failure", "HTTP 500");
        Assert.Equal(Digest(x, y, z), Digest(y, x, z));
        Assert.NotEqual(Digest(x, y, z), Digest(x, z, y));
        Assert.NotEqual(Digest(x, y, z), Digest(x, y, y, z));
        Assert.NotEqual(Digest(x, y), Digest(x, y with { DurationMs = 15.000000001 }));
    }

    private static StreamDigest Digest(params HistoryRow[] rows)
    {
        var builder = new StreamDigestBuilder();
        foreach (var row in rows)
        {
            builder.Add(row);
        }

        return builder.Result();
    }

    /// <summary>
    /// Three days of polls of three sources every ten minutes (with failures and two polls in one millisecond), their
    /// samples and rollups through the real writer; sealed as the writer's compactor seals them at
    /// <see cref="SealedAt"/> (the first two days a chunk each, the third day's first two hours a chunk each, the rest
    /// hot), then late samples for sealed days (one replacing a sealed value, one between two); evaluations with and
    /// without values; baselines; update deliveries.
    /// </summary>
    private async Task WriteSource()
    {
        var db = RoadmapDatabase.Open(_source.DatabasePath);
        await using (var writer = new BatchedWriter(db, NeverCompact, TimeProvider.System, NullLogger<BatchedWriter>.Instance))
        {
            writer.Start();
            for (var i = 0; i < 3 * 24 * 6; i++)
            {
                foreach (var (source, k) in Sources.Select((s, k) => (s, k)))
                {
                    var ok = (i + k) % 11 != 0;
                    var at = T0.AddMinutes(10 * i).AddSeconds(k).ToUnixTimeMilliseconds();
                    Assert.True(writer.TryEnqueue(new PollRecord(source, at, 0.01 + (i % 7 / 100.0), ok, ok ? null : $"HTTP {500 + k}", [new SignalSample("up", ok ? 1 : 0), new SignalSample("latency_seconds", Math.Round(0.05 + (Math.Sin(i + k) / 40), 5))])));
                }
            }

            // Two polls of one source in the same millisecond: rows that share a key.
            var same = T0.AddDays(1).AddMilliseconds(1).ToUnixTimeMilliseconds();
            Assert.True(writer.TryEnqueue(new PollRecord("db", same, 0.5, false, "timeout", [])));
            Assert.True(writer.TryEnqueue(new PollRecord("db", same, 0.2, true, null, [])));
            await writer.FlushAsync();
        }

        using (var session = db.OpenWriteSession(new StorageOptions { CompactBatchSamples = 100 }, new FakeTimeProvider(SealedAt)))
        {
            while (session.Compact().Chunks > 0)
            {
            }
        }

        await using (var writer = new BatchedWriter(db, NeverCompact, TimeProvider.System, NullLogger<BatchedWriter>.Instance))
        {
            writer.Start();
            Assert.True(writer.TryEnqueue(new PollRecord("web", T0.AddMinutes(300).ToUnixTimeMilliseconds(), 0.01, true, null, [new SignalSample("up", 0.5), new SignalSample("latency_seconds", 9.75)])));
            Assert.True(writer.TryEnqueue(new PollRecord("web", T0.AddDays(1).AddMinutes(7).ToUnixTimeMilliseconds(), 0.01, true, null, [new SignalSample("latency_seconds", 0.125)])));
            await writer.FlushAsync();
        }

        for (var round = 0; round < 60; round++)
        {
            db.Evaluations.Append(
            [
                .. Kpis.Select((k, j) => new KpiEvaluation(
                    k.Initiative, k.Kpi, T0.AddHours(round), round % 9 == 0 ? null : 99 + (round % 5 / 10.0) + j, j == 2 ? null : 99.5, round % 2 == 0,
                    round % 2 == 0 ? KpiStatus.OnTrack : KpiStatus.AtRisk, null, 100, "")),
            ]);
        }

        foreach (var (initiative, kpi) in Kpis)
        {
            db.Evaluations.SaveBaseline(initiative, kpi, new DateOnly(2026, 10, 1), new DateOnly(2026, 10, 31), "avg(web:up)", 0.97, 4464, T0);
            db.Evaluations.SaveBaseline(initiative, kpi, new DateOnly(2026, 9, 1), new DateOnly(2026, 9, 30), "avg(web:up)", 0.95, 4320, T0);
        }

        for (var week = 0; week < 4; week++)
        {
            db.Updates.Record("weekly", T0.AddDays(7 * week), T0.AddDays(7 * week).AddMinutes(1), week == 2 ? "failure" : "success", week + 1, week == 2 ? null : ["checkout"]);
            db.Updates.Record("daily", T0.AddDays(week), T0.AddDays(week), "scheduled", 0);
        }
    }
}
