using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Roadmap.Core.Evaluation;
using Roadmap.Storage;
using Roadmap.Storage.Chunks;
using Roadmap.Storage.Sqlite;
using SQLitePCL;

namespace Roadmap.Bench.Storage;

/// <summary>
/// The evaluate verb's dataset: <c>series</c> series of log-normal latencies (each around a scale of its own, rounded
/// to 5 decimals like an exporter's value), one sample every interval, over <c>days</c> days and an hour up to the
/// build's end, with their hour and day rollups (the storage library's <see cref="RollupBuilder"/>). Two layouts of
/// the same samples:
/// <list type="bullet">
/// <item><b>raw</b>: every sample a row of the samples table, as a database written before chunks (the compact verb
/// converts it).</item>
/// <item><b>sealed</b>: each closed UTC day of a series encoded by the library's <see cref="ChunkCodec"/> and stored
/// through its chunk store (<see cref="SqliteChunks.InsertChunk"/>) as the one chunk the compactor makes of a closed
/// day, without the day's hour rollups (the compactor drops them when it seals a day); the samples of the day still
/// open are hot rows, and the library's <see cref="Compactor"/> then seals their closed hours, as a running writer
/// would have. No raw row of a closed day is ever written, so a year (525 M samples
/// at 60 s for 1,000 series) is built at its final size in minutes, where the raw layout would pass through about
/// 16 GiB first. <see cref="Check"/> proves the two layouts end as the same rows.</item>
/// </list>
/// </summary>
internal static class Dataset
{
    private const long DayMs = ChunkedSamples.MaxRangeMs;

    private static void Emit(object o) => Console.WriteLine(JsonSerializer.Serialize(o));

    /// <summary>Builds the dataset into a new file and prints what it took.</summary>
    /// <param name="seal">True: the sealed layout; false: the raw one.</param>
    /// <param name="endMs">Unix ms UTC: the newest sample is at or before it (the build's clock when built for use).</param>
    /// <param name="time">The clock of the compactor's closed-range rule (the system's, or a fixed one for a check).</param>
    public static void Build(int days, int series, TimeSpan interval, string path, bool seal, long endMs, TimeProvider time)
    {
        var clock = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        if (File.Exists(path))
        {
            throw new IOException($"{path} exists; remove it first");
        }

        var db = RoadmapDatabase.Open(path);
        var step = (long)interval.TotalMilliseconds;
        var start = endMs - (days * DayMs) - 3_600_000; // an hour more than the window, so every window has a raw edge
        start -= start % step;

        // The compactor's rule: a UTC day is sealed once its end is CompactGrace in the past.
        var cut = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)new StorageOptions().CompactGrace.TotalMilliseconds;
        long total = 0, hot = 0, direct = 0;
        using (var c = db.OpenConnection())
        {
            var handle = c.Handle!;
            using var chunks = new SqliteChunks(handle);
            raw.sqlite3_exec(handle, "BEGIN;");
            using var hotRows = new HotRowWriter(handle);
            using var hour = RollupsTable.PrepareUpsert(c, RollupLevel.Hour);
            using var day = RollupsTable.PrepareUpsert(c, RollupLevel.Day);
            // A source's 10 series at a time, ts by ts: the hot rows (schema v9) hold a source key's samples at one ts,
            // and are written in key order. Each series draws its values from its own generator, as before.
            for (var g = 0; g < series; g += 10)
            {
                var group = new List<(long Id, Random Random, RollupBuilder Builder, double Scale, List<Point> Points)>();
                long key = -1;
                for (var s = g; s < Math.Min(series, g + 10); s++)
                {
                    using var create = c.CreateCommand();
                    create.CommandText = SeriesTable.CreateRaw.Replace("?", "$p", StringComparison.Ordinal);
                    create.Parameters.AddWithValue("$p1", $"source-{s / 10}");
                    create.Parameters.AddWithValue("$p2", $"signal_{s % 10}");
                    long id, its;
                    using (var r = create.ExecuteReader())
                    {
                        r.Read();
                        (id, its) = (r.GetInt64(0), r.GetInt64(1));
                    }

                    if (key >= 0 && its != key)
                    {
                        throw new InvalidOperationException($"source-{s / 10}'s series have two keys ({key}, {its}): its hot rows would not be in key order");
                    }

                    key = its;
                    var builder = new RollupBuilder((level, row) =>
                    {
                        if (seal && level == RollupLevel.Hour && RollupLevel.Day.StartOf(row.StartMs) + DayMs <= cut)
                        {
                            return; // a day written as its chunk keeps no hour rollups: the chunk answers for them
                        }

                        var upsert = level == RollupLevel.Hour ? hour : day;
                        RollupsTable.Bind(upsert, row.Series, row.StartMs, row.Summary);
                        upsert.ExecuteNonQuery();
                    });
                    group.Add((id, new Random(s), builder, 0.05 + (s % 17 * 0.01), []));
                }

                var pendingDay = long.MinValue;
                var rows = 0;
                for (var ts = start; ts <= endMs; ts += step)
                {
                    var dayStart = RollupLevel.Day.StartOf(ts);
                    var sealedDay = seal && dayStart + DayMs <= cut;
                    if (sealedDay && dayStart != pendingDay)
                    {
                        foreach (var m in group)
                        {
                            direct += SealDay(chunks, m.Id, pendingDay, m.Points);
                        }

                        pendingDay = dayStart;
                    }

                    foreach (var m in group)
                    {
                        // Latency-like: log-normal around the series' own scale, rounded like a real exporter's value.
                        var gauss = Math.Sqrt(-2 * Math.Log(1 - m.Random.NextDouble())) * Math.Cos(2 * Math.PI * m.Random.NextDouble());
                        var value = Math.Round(m.Scale * Math.Exp(0.5 * gauss), 5);
                        m.Builder.Add(m.Id, ts, value);
                        total++;
                        if (sealedDay)
                        {
                            m.Points.Add(new Point(ts, value));
                            continue;
                        }

                        hotRows.Add(key, ts, m.Id, value);
                        hot++;
                    }

                    if (!sealedDay && ++rows % 4096 == 0)
                    {
                        hotRows.Flush(incomingWins: true);
                    }
                }

                hotRows.Flush(incomingWins: true);
                foreach (var m in group)
                {
                    direct += SealDay(chunks, m.Id, pendingDay, m.Points);
                    m.Builder.Complete();
                }

                if (g % 50 == 40)
                {
                    raw.sqlite3_exec(handle, "COMMIT; BEGIN;");
                }
            }

            raw.sqlite3_exec(handle, "COMMIT;");
        }

        var built = clock.Elapsed.TotalSeconds;
        var (byCompactor, moved) = seal ? SealClosed(db, time) : (0, 0L);
        using (var c = db.OpenConnection())
        using (var checkpoint = c.CreateCommand())
        {
            checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            checkpoint.ExecuteNonQuery();
        }

        SqliteConnection.ClearAllPools();
        Emit(new
        {
            bench = "build-dataset",
            layout = seal ? "sealed" : "raw",
            days,
            series,
            intervalSeconds = interval.TotalSeconds,
            samples = total,
            hotRowsWritten = hot,
            chunksWrittenDirectly = direct,
            chunksSealedByCompactor = byCompactor,
            hotRowsSealedByCompactor = moved,
            seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
            secondsBeforeCompactor = Math.Round(built, 1),
            processCpuSeconds = Math.Round((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds, 1),
            bytes = new FileInfo(path).Length,
            loadAverage = WriterRun.LoadAverage(),
            endMs,
        });
    }

    /// <summary>Stores one closed day's points as its chunk (as <see cref="Compactor"/> seals a closed day) and clears
    /// them; 1 when a chunk was written.</summary>
    private static int SealDay(SqliteChunks chunks, long series, long dayStart, List<Point> points)
    {
        if (points.Count == 0)
        {
            return 0;
        }

        var chunk = ChunkCodec.Encode(CollectionsMarshal.AsSpan(points));
        chunks.InsertChunk(series, dayStart, dayStart + DayMs, chunk, ChunkCodec.ReadHeader(chunk));
        points.Clear();
        return 1;
    }

    /// <summary>The library's compactor, step after step until its sweep is done (what the writer runs between
    /// batches): every closed range still hot sealed. Returns the chunks it wrote and the hot rows it moved.</summary>
    private static (int Chunks, long Samples) SealClosed(RoadmapDatabase db, TimeProvider time)
    {
        using var c = db.OpenConnection();
        using var store = new SqliteChunks(c.Handle!);
        var compactor = new Compactor(new StorageOptions(), time);
        int chunks = 0;
        long moved = 0;
        while (compactor.Step(store) is { Chunks: > 0 } step)
        {
            chunks += step.Chunks;
            moved += step.Samples;
        }

        return (chunks, moved);
    }

    /// <summary>
    /// Builds a small dataset both ways at one end and one clock: raw, then converted by the library's compactor (what
    /// <c>compact</c> does to the 30-day file); and sealed. Compares every row of the tables that hold samples and
    /// rollups (chunks byte for byte). Returns 0 when they are identical.
    /// </summary>
    public static int Check(int days, int series, TimeSpan interval)
    {
        var folder = Path.Combine(Path.GetTempPath(), "roadmap-dataset-check-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var end = DateTimeOffset.UtcNow;
            var time = new FixedTime(end);
            var rawPath = Path.Combine(folder, "raw.db");
            var sealedPath = Path.Combine(folder, "sealed.db");
            Build(days, series, interval, rawPath, seal: false, end.ToUnixTimeMilliseconds(), time);
            SealClosed(RoadmapDatabase.Open(rawPath), time);
            Build(days, series, interval, sealedPath, seal: true, end.ToUnixTimeMilliseconds(), time);
            SqliteConnection.ClearAllPools();
            var identical = true;
            foreach (var (table, key) in new[] { ("series", "id"), ("samples", "source_key, ts"), ("chunks", "series_id, start_ts"), ("rollups_hour", "series_id, start_ts"), ("rollups_day", "series_id, start_ts") })
            {
                var a = Rows(rawPath, table, key);
                var b = Rows(sealedPath, table, key);
                var firstDifference = Enumerable.Range(0, Math.Max(a.Count, b.Count)).FirstOrDefault(i => i >= a.Count || i >= b.Count || !a[i].SequenceEqual(b[i], Cell.Instance), -1);
                identical &= firstDifference < 0;
                Emit(new { bench = "build-check", table, rowsRawThenCompacted = a.Count, rowsSealed = b.Count, identical = firstDifference < 0, firstDifferentRow = firstDifference });
            }

            SqliteConnection.ClearAllPools();
            return identical ? 0 : 1;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static List<object[]> Rows(string path, string table, string key)
    {
        using var c = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var q = c.CreateCommand();
        q.CommandText = $"SELECT * FROM {table} ORDER BY {key};";
        using var r = q.ExecuteReader();
        var rows = new List<object[]>();
        while (r.Read())
        {
            var row = new object[r.FieldCount];
            r.GetValues(row);
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Cells equal by value, blobs byte for byte.</summary>
    private sealed class Cell : IEqualityComparer<object>
    {
        public static readonly Cell Instance = new();

        public new bool Equals(object? x, object? y) => x is byte[] a && y is byte[] b ? a.AsSpan().SequenceEqual(b) : object.Equals(x, y);

        public int GetHashCode(object obj) => obj.GetHashCode();
    }

    /// <summary>A clock that stands still: both builds of a check see the same closed ranges.</summary>
    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
