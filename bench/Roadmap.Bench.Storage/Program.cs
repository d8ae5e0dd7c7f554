// Storage benchmarks, run by hand (never by dotnet test or CI). Each prints JSON lines for docs/PERFORMANCE.md:
//   ingest        --series 1000 --seconds 20 [--signals-per-poll 10]
//   build-dataset --days 30 --series 1000 --interval 60s --db PATH
//   evaluate      --db PATH --kpis 1000 [--days 30] [--check 100]
//   codec         --series 200 --days 2 [--seconds 1]   (the chunk codec candidates, ChunkBench)
//   footprint     --series 1000 --days 3 [--connection CS]   (compact history: realistic series through the writer,
//                 sealed, bytes per sample per table; SQLite, or PostgreSQL with --connection; Footprint.cs)
//   compact       --db PATH   (a database written before chunks converted by the writer's compactor; Footprint.cs)
//   pg-ingest     --connection CS --series 1000 --seconds 20 [--runs 3]      (PostgresBench.cs; bench/postgres.sh starts a server)
//   pg-evaluate   --connection CS --db PATH --kpis 1000 [--days 30]         (the SQLite dataset copied in, both evaluated, compared)
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using SQLitePCL;

var verb = args.Length > 0 ? args[0] : "";
var options = new Dictionary<string, string>();
for (var i = 1; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

string Opt(string name, string fallback) => options.GetValueOrDefault(name, fallback);
int Int(string name, int fallback) => int.Parse(Opt(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

void Emit(object o) => Console.WriteLine(JsonSerializer.Serialize(o));

switch (verb)
{
    case "ingest":
        await Ingest(Int("series", 1000), Int("seconds", 20), Int("signals-per-poll", 10));
        break;
    case "build-dataset":
        BuildDataset(Int("days", 30), Int("series", 1000), Durations.TryParse(Opt("interval", "60s"), out var every) ? every : throw new ArgumentException("bad --interval"), Opt("db", "bench-data/roadmap-30d.db"));
        break;
    case "evaluate":
        Evaluate(Opt("db", "bench-data/roadmap-30d.db"), Int("kpis", 1000), Int("days", 30), Int("check", 100));
        break;
    case "codec":
        Roadmap.Bench.Storage.ChunkBench.Run(Int("series", 200), Int("days", 2), double.Parse(Opt("seconds", "1"), CultureInfo.InvariantCulture));
        break;
    case "footprint":
        await Roadmap.Bench.Storage.Footprint.Run(Int("series", 1000), Int("days", 3), options.GetValueOrDefault("connection"));
        break;
    case "compact":
        await Roadmap.Bench.Storage.Footprint.Compact(Opt("db", "bench-data/roadmap-30d.db"));
        break;
    case "pg-ingest":
        await PostgresBench.Ingest(Opt("connection", ""), Int("series", 1000), Int("seconds", 20), Int("signals-per-poll", 10), Int("runs", 3));
        break;
    case "pg-evaluate":
        PostgresBench.Evaluate(Opt("connection", ""), Opt("db", "bench-data/roadmap-30d.db"), Int("kpis", 1000), Int("days", 30));
        break;
    default:
        Console.Error.WriteLine("usage: ingest --series N --seconds S | build-dataset --days D --series N --interval 60s --db PATH | evaluate --db PATH --kpis N | codec --series N --days D");
        return 2;
}

return 0;

async Task Ingest(int series, int seconds, int perPoll)
{
    var folder = Path.Combine(Path.GetTempPath(), "roadmap-bench-" + Guid.NewGuid().ToString("N"));
    try
    {
        var db = RoadmapDatabase.Open(Path.Combine(folder, "ingest.db"));
        var t0 = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var rate = (await WriterRun.Measure(db, series, seconds, perPoll, t0, "BatchedWriter")).Rate;

        var anchor = Anchor(Path.Combine(folder, "anchor.db"), series, seconds);
        Emit(new { bench = "ingest", target = "anchor: Microsoft.Data.Sqlite prepared INSERT, append-only rowid table, 10k-row transactions", series, seconds = Math.Round(anchor.Seconds, 2), samples = anchor.Rows, samplesPerSecond = Math.Round(anchor.Rows / anchor.Seconds) });
        Emit(new { bench = "ingest", ratio = Math.Round(rate / (anchor.Rows / anchor.Seconds), 3), meaning = "BatchedWriter samples/s divided by the anchor's rows/s" });
    }
    finally
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(folder, recursive: true);
    }
}

static (long Rows, double Seconds) Anchor(string path, int series, int seconds)
{
    using var c = new SqliteConnection($"Data Source={path}");
    c.Open();
    using (var pragma = c.CreateCommand())
    {
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL);";
        pragma.ExecuteNonQuery();
    }

    using var insert = c.CreateCommand();
    insert.CommandText = "INSERT INTO samples (series_id, ts, value) VALUES ($s, $t, $v);";
    var ps = insert.Parameters.Add("$s", SqliteType.Integer);
    var pt = insert.Parameters.Add("$t", SqliteType.Integer);
    var pv = insert.Parameters.Add("$v", SqliteType.Real);
    insert.Prepare();
    var random = new Random(42);
    var clock = Stopwatch.StartNew();
    long rows = 0;
    while (clock.Elapsed < TimeSpan.FromSeconds(seconds))
    {
        using var tx = c.BeginTransaction();
        insert.Transaction = tx;
        for (var i = 0; i < 10_000; i++, rows++)
        {
            ps.Value = rows % series;
            pt.Value = rows / series * 1000;
            pv.Value = Math.Round(random.NextDouble() * 100, 3);
            insert.ExecuteNonQuery();
        }

        tx.Commit();
    }

    return (rows, clock.Elapsed.TotalSeconds);
}

void BuildDataset(int days, int series, TimeSpan interval, string path)
{
    var clock = Stopwatch.StartNew();
    if (File.Exists(path))
    {
        throw new IOException($"{path} exists; remove it first");
    }

    var db = RoadmapDatabase.Open(path);
    using var c = db.OpenConnection();
    var handle = c.Handle!;
    var step = (long)interval.TotalMilliseconds;
    var end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    var start = end - (days * 86_400_000L) - 3_600_000; // an hour more than the window, so every window has a raw edge
    start -= start % step;
    long total = 0;
    raw.sqlite3_exec(handle, "BEGIN;");
    raw.sqlite3_prepare_v2(handle, "INSERT INTO samples (series_id, ts, value) VALUES (?1, ?2, ?3);", out var stmt);
    using var hour = RollupsTable.PrepareUpsert(c, RollupLevel.Hour);
    using var day = RollupsTable.PrepareUpsert(c, RollupLevel.Day);
    for (var s = 0; s < series; s++)
    {
        using var create = c.CreateCommand();
        create.CommandText = "INSERT INTO series (source, signal) VALUES ($source, $signal) RETURNING id;";
        create.Parameters.AddWithValue("$source", $"source-{s / 10}");
        create.Parameters.AddWithValue("$signal", $"signal_{s % 10}");
        var id = (long)create.ExecuteScalar()!;
        var random = new Random(s);
        var builder = new RollupBuilder((level, row) =>
        {
            var upsert = level == RollupLevel.Hour ? hour : day;
            RollupsTable.Bind(upsert, row.Series, row.StartMs, row.Summary);
            upsert.ExecuteNonQuery();
        });
        var scale = 0.05 + (s % 17 * 0.01);
        for (var ts = start; ts <= end; ts += step)
        {
            // Latency-like: log-normal around the series' own scale, rounded like a real exporter's value.
            var gauss = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            var value = Math.Round(scale * Math.Exp(0.5 * gauss), 5);
            raw.sqlite3_bind_int64(stmt, 1, id);
            raw.sqlite3_bind_int64(stmt, 2, ts);
            raw.sqlite3_bind_double(stmt, 3, value);
            raw.sqlite3_step(stmt);
            raw.sqlite3_reset(stmt);
            builder.Add(id, ts, value);
            total++;
        }

        builder.Complete();
        if (s % 50 == 49)
        {
            raw.sqlite3_exec(handle, "COMMIT; BEGIN;");
        }
    }

    stmt.Dispose();
    raw.sqlite3_exec(handle, "COMMIT;");
    raw.sqlite3_exec(handle, "PRAGMA wal_checkpoint(TRUNCATE);");
    Emit(new { bench = "build-dataset", days, series, intervalSeconds = interval.TotalSeconds, samples = total, seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), bytes = new FileInfo(path).Length, endMs = end });
}

void Evaluate(string path, int kpis, int days, int check)
{
    var db = RoadmapDatabase.Open(path);
    var reader = db.Samples;
    var now = DateTimeOffset.UtcNow;
    var from = now - TimeSpan.FromDays(days);
    var names = new List<(string Source, string Signal)>();
    using (var c = db.OpenConnection())
    using (var q = c.CreateCommand())
    {
        q.CommandText = "SELECT source, signal FROM series ORDER BY id;";
        using var r = q.ExecuteReader();
        while (r.Read())
        {
            names.Add((r.GetString(0), r.GetString(1)));
        }
    }

    var values = EvaluationRounds.Run(reader, names, kpis, days, from, now, "sqlite");
    static Aggregate AggregateOf(int k) => EvaluationRounds.AggregateOf(k);

    // The exact values, recomputed from every raw sample of the same windows.
    double maxAvgError = 0, maxP95Error = 0;
    using (var session = reader.OpenSession())
    {
        for (var k = 0; k < Math.Min(check, kpis); k++)
        {
            var (source, signal) = names[k % names.Count];
            var exact = Aggregates.Compute(AggregateOf(k), session.Read(source, signal, from, now));
            var error = exact is { } e && values[k] is { } v ? Math.Abs(v - e) / Math.Abs(e) : double.NaN;
            if (k % 2 == 0)
            {
                maxAvgError = Math.Max(maxAvgError, error);
            }
            else
            {
                maxP95Error = Math.Max(maxP95Error, error);
            }
        }
    }

    Emit(new { bench = "evaluate-accuracy", checkedKpis = Math.Min(check, kpis), maxRelativeErrorAvg = maxAvgError, maxRelativeErrorP95 = maxP95Error });
}
