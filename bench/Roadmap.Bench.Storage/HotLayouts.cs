using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Roadmap.Bench.Storage;

/// <summary>
/// What the newest samples cost to write in four table layouts, at the probe bench's shape: SOURCES http sources
/// polled every second, SIGNALS samples a poll, committed in batches of BATCH-MS of polls. Pure SQL through
/// Microsoft.Data.Sqlite (one prepared single-row insert per row, the same in every layout), with the writer's
/// pragmas: WAL, synchronous=NORMAL, a 16 MiB page cache, temp_store=MEMORY. Each run starts from a fresh file
/// prefilled with PREFILL seconds of data (unmeasured; enough that every series owns its newest page, as after a few
/// minutes of the real service), then writes SECONDS seconds of data and reports CPU, wall time and bytes written.
/// - series: today's samples table, one row per sample clustered by (series_id, ts). A batch writes the newest page
///   of every series it touches.
/// - grouped: the same rows as series, clustered by (source_id, ts, series_id): the product's layout since SQLite
///   schema v8. A poll's samples lie side by side, so a batch writes the newest page of every source it touches; a
///   read takes the source's rows of the range and keeps the series'.
/// - poll: one row per poll, clustered by (source_id, ts), the poll's values in one blob (SIGNALS doubles). A batch
///   writes the newest page of every source it touches: SIGNALS times fewer pages, and rows.
/// - log: an append-only rowid table the batches go to (its pages take every series' samples, in arrival order), and
///   every FOLD seconds of data one transaction moves what it holds into the (series_id, ts) table, sorted, and
///   deletes it: each series' newest page is written once per fold instead of once per batch. Readers would have to
///   read the log too; that cost is not measured here.
/// After the writes, READS random series' newest 300 s are read back, one query each (CPU per read, and a checksum
/// of the values that must be the same in every layout). The log layout is read after its last fold: what reading
/// an unfolded log costs (a scan of everything it holds, or an index that brings the per-series pages back) is not
/// measured.
/// </summary>
internal static class HotLayouts
{
    /// <summary>A read takes a series' newest samples over this many seconds, as a KPI's open minute or two does.</summary>
    private const int ReadSeconds = 300;

    public static void Run(string layout, int sources, int signals, int prefill, int seconds, int batchMs, int fold, int reads)
    {
        if (layout is not ("series" or "poll" or "log" or "grouped"))
        {
            throw new ArgumentException("--layout is series, poll, log or grouped");
        }

        var folder = Path.Combine(Path.GetTempPath(), "roadmap-hot-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            using var c = new SqliteConnection($"Data Source={Path.Combine(folder, "hot.db")};Pooling=False");
            c.Open();
            Exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;");
            Exec(c, "CREATE TABLE samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID;");
            Exec(c, "CREATE TABLE poll_samples (source_id INTEGER NOT NULL, ts INTEGER NOT NULL, vals BLOB NOT NULL, PRIMARY KEY (source_id, ts)) WITHOUT ROWID;");
            Exec(c, "CREATE TABLE samples_grouped (source_id INTEGER NOT NULL, ts INTEGER NOT NULL, series_id INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (source_id, ts, series_id)) WITHOUT ROWID;");
            Exec(c, "CREATE TABLE samples_log (ts INTEGER NOT NULL, series_id INTEGER NOT NULL, value REAL NOT NULL);");
            var t0 = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

            // Prefill, key order (fast): every series (or source) owns pages of its own, as in a running service.
            var prefillClock = Stopwatch.StartNew();
            using (var tx = c.BeginTransaction())
            {
                if (layout == "poll")
                {
                    using var insert = PollInsert(c, tx);
                    for (var s = 0; s < sources; s++)
                    {
                        for (var sec = 0; sec < prefill; sec++)
                        {
                            BindPoll(insert, s, Ts(t0, s, sec), signals, sec);
                            insert.ExecuteNonQuery();
                        }
                    }
                }
                else if (layout == "grouped")
                {
                    using var insert = SampleInsert(c, tx, "samples_grouped");
                    for (var s = 0; s < sources; s++)
                    {
                        for (var sec = 0; sec < prefill; sec++)
                        {
                            InsertPollSamples(insert, s, Ts(t0, s, sec), signals, sec);
                        }
                    }
                }
                else
                {
                    using var insert = SampleInsert(c, tx, "samples");
                    for (var id = 0; id < sources * signals; id++)
                    {
                        for (var sec = 0; sec < prefill; sec++)
                        {
                            BindSample(insert, id, Ts(t0, id / signals, sec), Value(id, sec));
                            insert.ExecuteNonQuery();
                        }
                    }
                }

                tx.Commit();
            }

            Exec(c, "PRAGMA wal_checkpoint(TRUNCATE);");
            var prefillSeconds = prefillClock.Elapsed.TotalSeconds;

            // Measured: SECONDS seconds of polls after the prefill, BATCH-MS of them per transaction, in arrival order
            // (sources spread over the second by their offset), sorted by the layout's key where it has one.
            var (wchar0, disk0) = Io();
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            long rows = 0, batches = 0, folds = 0;
            double foldSeconds = 0;
            var batch = new List<(int Source, long Ts, int Sec)>();
            var endMs = (long)(prefill + seconds) * 1000;
            var lastFold = (long)prefill * 1000;
            for (var from = (long)prefill * 1000; from < endMs; from += batchMs)
            {
                batch.Clear();
                for (var s = 0; s < sources; s++)
                {
                    // Source s is polled at second sec + its offset; take the polls whose time falls in [from, from + batchMs).
                    var offset = s % 1000;
                    for (var at = (from - offset + 999) / 1000 * 1000 + offset; at < from + batchMs; at += 1000)
                    {
                        batch.Add((s, t0 + at, (int)(at / 1000)));
                    }
                }

                using var tx = c.BeginTransaction();
                if (layout != "log")
                {
                    batch.Sort((a, b) => a.Source != b.Source ? a.Source.CompareTo(b.Source) : a.Ts.CompareTo(b.Ts));
                }

                if (layout == "poll")
                {
                    using var insert = PollInsert(c, tx);
                    foreach (var (s, ts, sec) in batch)
                    {
                        BindPoll(insert, s, ts, signals, sec);
                        insert.ExecuteNonQuery();
                        rows++;
                    }
                }
                else
                {
                    // series: sorted, into the clustered table; grouped: the same rows, clustered by source first; log: in
                    // arrival order, appended to the log.
                    using var insert = SampleInsert(c, tx, layout switch { "log" => "samples_log", "grouped" => "samples_grouped", _ => "samples" });
                    foreach (var (s, ts, sec) in batch)
                    {
                        InsertPollSamples(insert, s, ts, signals, sec);
                        rows += signals;
                    }
                }

                tx.Commit();
                batches++;
                if (layout == "log" && (from + batchMs - lastFold >= fold * 1000L || from + batchMs >= endMs))
                {
                    var foldClock = Stopwatch.StartNew();
                    using var ftx = c.BeginTransaction();
                    Exec(c, "INSERT INTO samples (series_id, ts, value) SELECT series_id, ts, value FROM samples_log ORDER BY series_id, ts; DELETE FROM samples_log;", ftx);
                    ftx.Commit();
                    foldSeconds += foldClock.Elapsed.TotalSeconds;
                    folds++;
                    lastFold = from + batchMs;
                }
            }

            var wall = clock.Elapsed.TotalSeconds;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            var (wchar1, disk1) = Io();
            var (readUs, checksum) = Reads(c, layout, sources, signals, t0 + (endMs - (ReadSeconds * 1000L)), reads);
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                bench = "hot-layouts",
                layout,
                sources,
                signals,
                prefillSeconds = prefill,
                seconds,
                batchMs,
                fold = layout == "log" ? fold : 0,
                samples = (long)sources * signals * seconds,
                rows,
                batches,
                folds,
                wallSeconds = Math.Round(wall, 2),
                cpuSeconds = Math.Round(cpu, 2),
                foldWallSeconds = Math.Round(foldSeconds, 2),
                cpuPerSecondOfData = Math.Round(cpu / seconds, 3),
                usPerSample = Math.Round(cpu * 1e6 / ((double)sources * signals * seconds), 2),
                writtenMbPerSecondOfData = Math.Round((wchar1 - wchar0) / 1e6 / seconds, 1),
                toDiskMbPerSecondOfData = Math.Round((disk1 - disk0) / 1e6 / seconds, 1),
                peakRssMib = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 1),
                prefillWallSeconds = Math.Round(prefillSeconds, 1),
                reads,
                readSeconds = ReadSeconds,
                readUsPerSeries = Math.Round(readUs, 1),
                readChecksum = Math.Round(checksum, 3),
            }));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>
    /// Reads <paramref name="reads"/> random series (the same ones in every layout) from <paramref name="fromTs"/> on,
    /// one query each, after the writes (the log layout's last fold has moved everything into the samples table, so
    /// it reads like series). Returns the CPU microseconds per series read, and the sum of the values read: equal in
    /// every layout when they stored the same samples.
    /// </summary>
    private static (double UsPerRead, double Checksum) Reads(SqliteConnection c, string layout, int sources, int signals, long fromTs, int reads)
    {
        using var query = c.CreateCommand();
        query.CommandText = layout switch
        {
            "poll" => "SELECT substr(vals, $o, 8) FROM poll_samples WHERE source_id = $k AND ts >= $from ORDER BY ts;",
            "grouped" => "SELECT value FROM samples_grouped WHERE source_id = $k AND ts >= $from AND series_id = $o ORDER BY ts;",
            _ => "SELECT value FROM samples WHERE series_id = $k AND ts >= $from ORDER BY ts;",
        };
        var key = query.Parameters.Add("$k", SqliteType.Integer);
        var at = layout is "poll" or "grouped" ? query.Parameters.Add("$o", SqliteType.Integer) : null;
        query.Parameters.Add("$from", SqliteType.Integer).Value = fromTs;
        query.Prepare();
        var random = new Random(7);
        double sum = 0;
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < reads; i++)
        {
            var series = random.Next(sources * signals);
            key.Value = layout is "poll" or "grouped" ? series / signals : series;
            if (at is not null)
            {
                at.Value = layout == "poll" ? ((series % signals) * 8) + 1 : series;
            }
            using var reader = query.ExecuteReader();
            while (reader.Read())
            {
                // A poll row's value: SQLite cuts the signal's 8 bytes out of the blob, and only they are copied out.
                sum += layout == "poll" ? BitConverter.ToDouble((byte[])reader.GetValue(0)) : reader.GetDouble(0);
            }
        }

        return ((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds * 1000 / Math.Max(1, reads), sum);
    }

    private static long Ts(long t0, int source, int sec) => t0 + (sec * 1000L) + (source % 1000);

    private static double Value(int series, int sec) => Math.Round(((series * 7919L) + (sec * 104729L)) % 100_000 / 1000.0, 3);

    private static void Exec(SqliteConnection c, string sql, SqliteTransaction? tx = null)
    {
        using var command = c.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static SqliteCommand SampleInsert(SqliteConnection c, SqliteTransaction tx, string table) =>
        Prepared(c, tx, SqliteType.Real, table switch
        {
            "samples_log" => "INSERT INTO samples_log (ts, series_id, value) VALUES ($t, $s, $v);",
            "samples_grouped" => "INSERT INTO samples_grouped (source_id, ts, series_id, value) VALUES ($g, $t, $s, $v);",
            _ => "INSERT INTO samples (series_id, ts, value) VALUES ($s, $t, $v);",
        });

    /// <summary>An insert prepared with the parameters every layout's inserts take from: $g, $s and $t integers, $v of <paramref name="value"/>'s type (a statement uses those it names).</summary>
    private static SqliteCommand Prepared(SqliteConnection c, SqliteTransaction tx, SqliteType value, string sql)
    {
        var insert = c.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = sql;
        insert.Parameters.Add("$g", SqliteType.Integer);
        insert.Parameters.Add("$s", SqliteType.Integer);
        insert.Parameters.Add("$t", SqliteType.Integer);
        insert.Parameters.Add("$v", value);
        insert.Prepare();
        return insert;
    }

    /// <summary>The samples of source <paramref name="source"/>'s poll at <paramref name="ts"/>, one row each.</summary>
    private static void InsertPollSamples(SqliteCommand insert, int source, long ts, int signals, int sec)
    {
        insert.Parameters["$g"].Value = source;
        for (var k = 0; k < signals; k++)
        {
            BindSample(insert, (source * signals) + k, ts, Value((source * signals) + k, sec));
            insert.ExecuteNonQuery();
        }
    }

    private static void BindSample(SqliteCommand insert, long series, long ts, double value)
    {
        insert.Parameters["$s"].Value = series;
        insert.Parameters["$t"].Value = ts;
        insert.Parameters["$v"].Value = value;
    }

    private static SqliteCommand PollInsert(SqliteConnection c, SqliteTransaction tx) =>
        Prepared(c, tx, SqliteType.Blob, "INSERT INTO poll_samples (source_id, ts, vals) VALUES ($s, $t, $v);");

    private static void BindPoll(SqliteCommand insert, int source, long ts, int signals, int sec)
    {
        var vals = new byte[signals * 8];
        for (var k = 0; k < signals; k++)
        {
            BitConverter.TryWriteBytes(vals.AsSpan(k * 8), Value((source * signals) + k, sec));
        }

        insert.Parameters["$s"].Value = source;
        insert.Parameters["$t"].Value = ts;
        insert.Parameters["$v"].Value = vals;
    }

    private static (long Wchar, long Disk) Io()
    {
        long wchar = 0, disk = 0;
        foreach (var line in File.ReadLines("/proc/self/io"))
        {
            var parts = line.Split(':', StringSplitOptions.TrimEntries);
            if (parts[0] == "wchar")
            {
                wchar = long.Parse(parts[1], CultureInfo.InvariantCulture);
            }
            else if (parts[0] == "write_bytes")
            {
                disk = long.Parse(parts[1], CultureInfo.InvariantCulture);
            }
        }

        return (wchar, disk);
    }
}
