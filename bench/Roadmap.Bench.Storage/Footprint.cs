using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Roadmap.Core.Evaluation;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;

namespace Roadmap.Bench.Storage;

/// <summary>
/// Compact history end to end (issue 21): the realistic generator's series (<see cref="SignalGenerator"/>) written
/// through the real writer (one poll per sample, interleaved by time across series), the writer's compactor sealing
/// them as it would on a service catching up, then the bytes on disk per sample, table by table, indexes included.
/// The polls table is reported apart: a poll is not a sample (a source's poll carries all of its signals), and the
/// figures the issue sets are per sample.
/// </summary>
internal static class Footprint
{
    private static void Emit(object o) => Console.WriteLine(JsonSerializer.Serialize(o));

    /// <param name="connection">null: SQLite in a temp folder; else a PostgreSQL server's connection string (a database
    /// of the bench's own is created on it and dropped after).</param>
    public static async Task Run(int series, int days, string? connection)
    {
        // Whole UTC days that ended before yesterday: every range is closed, so everything is sealed.
        var start = RollupLevel.Day.StartOf(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) - ((days + 1) * RollupLevel.Day.SizeMs);
        var end = start + (days * RollupLevel.Day.SizeMs);
        var specs = SignalGenerator.Series(series);
        var points = specs.Select(s => SignalGenerator.Generate(s, start, end)).ToList();
        var total = points.Sum(p => p.Count);
        var folder = Path.Combine(Path.GetTempPath(), "roadmap-footprint-" + Guid.NewGuid().ToString("N"));
        var target = connection is null ? "sqlite" : "postgres";
        IRoadmapStorage db = connection is null
            ? RoadmapDatabase.Open(Path.Combine(folder, "footprint.db"))
            : PostgresBench.Fresh(connection, "roadmap_bench_footprint");
        try
        {
            // A sweep a second rather than every 5 minutes: the bench catches up days in minutes, where a service
            // receives them in real time.
            var options = new StorageOptions { CompactInterval = TimeSpan.FromSeconds(1) };
            var writer = new BatchedWriter(db, options, TimeProvider.System, NullLogger<BatchedWriter>.Instance);
            writer.Start();
            var clock = Stopwatch.StartNew();
            var next = new int[series];
            for (var slice = start; slice < end; slice += 600_000)
            {
                for (var s = 0; s < series; s++)
                {
                    var list = points[s];
                    while (next[s] < list.Count && list[next[s]].TimestampMs < slice + 600_000)
                    {
                        var p = list[next[s]++];
                        while (writer.QueueLength > options.QueueCapacity * 0.9)
                        {
                            await Task.Delay(1);
                        }

                        writer.TryEnqueue(new PollRecord($"source-{s}", p.TimestampMs, 0.01, true, null, [new SignalSample(specs[s].Kind.ToString().ToLowerInvariant(), p.Value)]));
                    }
                }
            }

            await writer.FlushAsync();
            var ingestSeconds = clock.Elapsed.TotalSeconds;
            var sealedDuringIngest = writer.ChunksSealed;
            Emit(new { bench = "footprint-ingest", target, loadAverage = WriterRun.LoadAverage(), series, days, samples = total, polls = writer.PollsWritten, seconds = Math.Round(ingestSeconds, 1), samplesPerSecond = Math.Round(total / ingestSeconds), chunksSealedMeanwhile = sealedDuringIngest, dropped = writer.PollsDropped });

            // The compactor goes on in the writer's idle time until nothing closed is hot.
            clock.Restart();
            while (Hot(db, connection) > 0 && clock.Elapsed < TimeSpan.FromMinutes(30))
            {
                await Task.Delay(200);
            }

            var compactSeconds = clock.Elapsed.TotalSeconds;
            await writer.DisposeAsync();
            Emit(new { bench = "footprint-compact", target, loadAverage = WriterRun.LoadAverage(), secondsAfterIngest = Math.Round(compactSeconds, 1), chunks = writer.ChunksSealed, hotLeft = Hot(db, connection) });

            // PostgreSQL twice: after a plain VACUUM (dead row versions of the upserted rollups still take their
            // pages, as on a running server), then after VACUUM FULL (the live rows alone).
            foreach (var vacuum in connection is null ? ["VACUUM"] : new[] { "VACUUM", "VACUUM FULL" })
            {
                var sizes = connection is null ? SqliteSizes(Path.Combine(folder, "footprint.db")) : PostgresSizes(PostgresBench.Database(connection, "roadmap_bench_footprint"), vacuum);
                var polls = sizes.GetValueOrDefault("polls");
                var samplesBytes = sizes.Where(kv => kv.Key != "polls").Sum(kv => kv.Value);
                if (connection is not null)
                {
                    Emit(new { bench = "footprint-detail", target, vacuum, tables = PostgresDetail(PostgresBench.Database(connection, "roadmap_bench_footprint"), total) });
                }

                Emit(new { bench = "footprint-size", target, vacuum, samples = total, bytesPerSample = Math.Round((double)samplesBytes / total, 3), bytesWithoutPolls = samplesBytes, pollsBytes = polls, pollsBytesPerPoll = Math.Round((double)polls / total, 1), tables = sizes.OrderByDescending(kv => kv.Value).ToDictionary(kv => kv.Key, kv => new { bytes = kv.Value, perSample = Math.Round((double)kv.Value / total, 3) }) });
            }
        }
        finally
        {
            (db as IDisposable)?.Dispose();
            SqliteConnection.ClearAllPools();
            if (connection is null)
            {
                Directory.Delete(folder, recursive: true);
            }
            else
            {
                PostgresBench.Drop(connection, "roadmap_bench_footprint");
            }
        }
    }

    /// <summary>
    /// Converts a database written before chunks (the evaluate verb's dataset, from build-dataset) the way a service
    /// does on start: its writer's compactor seals every closed range, batch by batch, logging its progress; then the
    /// sizes per table after a VACUUM.
    /// </summary>
    public static async Task Compact(string path)
    {
        var before = new FileInfo(path).Length;
        var db = RoadmapDatabase.Open(path);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clock = Stopwatch.StartNew();
        var writer = new BatchedWriter(db, new StorageOptions(), TimeProvider.System, new ConsoleLog(clock, done));
        writer.Start();
        await done.Task;
        var seconds = clock.Elapsed.TotalSeconds;
        await writer.DisposeAsync();
        var samples = StoredSamples(db);
        Emit(new { bench = "compact", loadAverage = WriterRun.LoadAverage(), seconds = Math.Round(seconds, 1), chunks = writer.ChunksSealed, samples, samplesPerSecond = Math.Round(samples / seconds), hotLeft = Hot(db, null), bytesBefore = before });
        SqliteConnection.ClearAllPools();
        EmitSizes("compact-size", path, samples);
    }

    /// <summary>The bytes per sample of a SQLite file, table by table (<see cref="SqliteSizes"/>: it is vacuumed).</summary>
    public static void Sizes(string path)
    {
        var samples = StoredSamples(RoadmapDatabase.Open(path));
        SqliteConnection.ClearAllPools();
        var clock = Stopwatch.StartNew();
        EmitSizes("sizes", path, samples);
        Console.Error.WriteLine($"sizes measured in {clock.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>The samples a SQLite store holds: its chunks' counts and its hot rows.</summary>
    private static long StoredSamples(RoadmapDatabase db)
    {
        using var c = db.OpenConnection();
        using var q = c.CreateCommand();
        q.CommandText = "SELECT coalesce(sum(count), 0) FROM chunks;";
        return (long)q.ExecuteScalar()! + HotEntries(c);
    }

    /// <summary>The samples SQLite's hot rows hold (a row holds a source key's samples at one ts).</summary>
    private static long HotEntries(Microsoft.Data.Sqlite.SqliteConnection c)
    {
        using var q = c.CreateCommand();
        q.CommandText = "SELECT data FROM samples;";
        using var r = q.ExecuteReader();
        long n = 0;
        while (r.Read())
        {
            n += HotRow.Count(r.GetFieldValue<byte[]>(0));
        }

        return n;
    }

    private static void EmitSizes(string bench, string path, long samples)
    {
        var sizes = SqliteSizes(path);
        Emit(new { bench, samples, bytes = new FileInfo(path).Length, bytesPerSample = Math.Round((double)new FileInfo(path).Length / samples, 3), tables = sizes.OrderByDescending(kv => kv.Value).ToDictionary(kv => kv.Key, kv => new { bytes = kv.Value, perSample = Math.Round((double)kv.Value / samples, 3) }) });
    }

    /// <summary>The writer's log lines on the console, timed; completes <paramref name="done"/> when a sweep is done.</summary>
    private sealed class ConsoleLog(Stopwatch clock, TaskCompletionSource done) : Microsoft.Extensions.Logging.ILogger<BatchedWriter>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = formatter(state, exception);
            Console.Error.WriteLine($"{clock.Elapsed.TotalSeconds,7:F1} s  {line}");
            if (line.StartsWith("Compacting history done", StringComparison.Ordinal))
            {
                done.TrySetResult();
            }
        }
    }

    private static long Hot(IRoadmapStorage db, string? connection)
    {
        if (connection is null)
        {
            using var c = ((RoadmapDatabase)db).OpenConnection();
            return HotEntries(c);
        }

        using var pg = new NpgsqlConnection(PostgresBench.Database(connection, "roadmap_bench_footprint"));
        pg.Open();
        using var cmd = new NpgsqlCommand("SELECT count(*) FROM samples;", pg);
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>Bytes per table, its indexes counted with it, after a VACUUM (the free pages the deleted hot rows left
    /// are reused by the next hot rows in a running store, so the vacuumed file is its steady size).</summary>
    private static Dictionary<string, long> SqliteSizes(string path)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        using (var vacuum = c.CreateCommand())
        {
            vacuum.CommandText = "VACUUM;";
            vacuum.ExecuteNonQuery();
        }

        // This SQLite has no dbstat: a table's bytes are what the file shrinks by when it is dropped and vacuumed, one
        // table at a time, in copies: first without the polls (the big one), then each other table from that copy.
        var sizes = new Dictionary<string, long>();
        var total = new FileInfo(path).Length;
        var withoutPolls = path + ".nopolls";
        File.Delete(withoutPolls);
        Execute(c, $"VACUUM INTO '{withoutPolls}';");
        using (var other = new SqliteConnection($"Data Source={withoutPolls};Pooling=False"))
        {
            other.Open();
            Execute(other, "DROP TABLE polls; VACUUM;");
        }

        var rest = new FileInfo(withoutPolls).Length;
        sizes["polls"] = total - rest;
        var copy = path + ".sizes";
        using (var small = new SqliteConnection($"Data Source={withoutPolls};Pooling=False"))
        {
            small.Open();
            foreach (var table in new[] { "samples", "chunks", "rollups_hour", "rollups_day", "series", "evaluations" })
            {
                File.Delete(copy);
                Execute(small, $"VACUUM INTO '{copy}';");
                using (var other = new SqliteConnection($"Data Source={copy};Pooling=False"))
                {
                    other.Open();
                    Execute(other, $"DROP TABLE {table}; VACUUM;");
                }

                sizes[table] = rest - new FileInfo(copy).Length;
            }
        }

        SqliteConnection.ClearAllPools();
        File.Delete(copy);
        File.Delete(withoutPolls);
        sizes["(schema and the rest)"] = total - sizes.Values.Sum();
        return sizes;
    }

    private static void Execute(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// Where each table's bytes are (partitions summed; the polls table left out, its scan would take minutes): the
    /// heap, its TOAST (with the TOAST index) and its indexes, per sample; and of the heap, the bytes of live rows, of
    /// dead row versions, and free (pgstattuple), so what a plain VACUUM leaves behind is told apart from the rows.
    /// </summary>
    private static Dictionary<string, object> PostgresDetail(string connection, long samples)
    {
        using var c = new NpgsqlConnection(connection);
        c.Open();
        using (var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pgstattuple;", c))
        {
            create.ExecuteNonQuery();
        }

        using var q = new NpgsqlCommand(
            """
            SELECT coalesce(p.relname, c.relname),
                   sum(pg_relation_size(c.oid))::bigint,
                   sum(coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0))::bigint,
                   sum(pg_indexes_size(c.oid))::bigint,
                   sum(s.tuple_len)::bigint, sum(s.dead_tuple_len)::bigint, sum(s.free_space)::bigint,
                   string_agg(DISTINCT array_to_string(c.reloptions, ','), ';')
            FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
                 CROSS JOIN LATERAL pgstattuple(c.oid) s
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND coalesce(p.relname, c.relname) <> 'polls'
            GROUP BY 1 ORDER BY 1;
            """,
            c);
        var detail = new Dictionary<string, object>();
        using var r = q.ExecuteReader();
        while (r.Read())
        {
            double Per(int i) => Math.Round((double)r.GetInt64(i) / samples, 4);
            detail[r.GetString(0)] = new { heap = Per(1), toast = Per(2), indexes = Per(3), heapLive = Per(4), heapDead = Per(5), heapFree = Per(6), options = r.IsDBNull(7) ? "" : r.GetString(7) };
        }

        return detail;
    }

    /// <summary>Bytes per table (partitions, TOAST and indexes counted with their table), after
    /// <paramref name="vacuum"/>.</summary>
    private static Dictionary<string, long> PostgresSizes(string connection, string vacuum)
    {
        using var c = new NpgsqlConnection(connection);
        c.Open();
        using (var command = new NpgsqlCommand(vacuum + ";", c))
        {
            command.ExecuteNonQuery();
        }

        var sizes = new Dictionary<string, long>();
        using var q = new NpgsqlCommand(
            """
            SELECT coalesce(p.relname, c.relname), sum(pg_total_relation_size(c.oid))::bigint
            FROM pg_class c LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
            GROUP BY 1;
            """,
            c);
        using var r = q.ExecuteReader();
        while (r.Read())
        {
            sizes[r.GetString(0)] = r.GetInt64(1);
        }

        return sizes;
    }
}
