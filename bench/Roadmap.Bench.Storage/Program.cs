// Storage benchmarks, run by hand (never by dotnet test or CI). Each prints JSON lines for docs/PERFORMANCE.md:
//   ingest        --series 1000 --seconds 20 [--signals-per-poll 10] [--clock data|wall] [--anchor yes|no]
//                 (data: the writer's clock is the data's, as a live service's is; wall: the system clock against
//                 data from 2026-11-01, every hour ended; WriterRun.cs)
//   build-dataset --days 30 --series 1000 --interval 60s --db PATH [--layout raw|sealed]
//                 (raw: every sample a hot row, as before chunks; sealed: closed days written as the compactor's
//                 chunks, the rest sealed by the compactor; Dataset.cs)
//   build-check   --days 3 --series 20   (both layouts built at one end and compared row by row: exit 0 when identical)
//   sizes         --db PATH   (bytes per sample per table of a SQLite file, after a VACUUM; Footprint.cs)
//   evaluate      --db PATH --kpis 1000 [--days 30] [--check 100]
//   codec         --series 200 --days 2 [--seconds 1]   (the chunk codec candidates, ChunkBench)
//   footprint     --series 1000 --days 3 [--connection CS]   (compact history: realistic series through the writer,
//                 sealed, bytes per sample per table; SQLite, or PostgreSQL with --connection; Footprint.cs)
//   compact       --db PATH   (a database written before chunks converted by the writer's compactor; Footprint.cs)
//   pg-ingest     --connection CS --series 1000 --seconds 20 [--runs 3] [--clock data|wall]   (PostgresBench.cs; bench/postgres.sh starts a server)
//   pg-evaluate   --connection CS --db PATH --kpis 1000 [--days 30]         (the SQLite dataset copied in, both evaluated, compared)
//   sketch-encode --series 1000 [--hours 1] [--seconds 5]   (QuantileSketch.ToBytes on realistic series' sketches of
//                 that many hours at 1 s, as the writer encodes every touched rollup on each flush; ns per encode)
//   hot-layouts   --layout series|grouped|poll|log --sources 10000 [--signals 9] [--prefill 200] [--seconds 60] [--batch-ms 500]
//                 [--fold 60] [--reads 2000]   (what the newest samples cost to write, and to read back, in three
//                 table layouts; HotLayouts.cs)
//   retention-sweep --sources 2000 [--signals 9] [--minutes 30] [--db PATH] [--sweeps 3]   (one retention sweep with
//                 nothing old enough to delete, over that many minutes of hot samples at 1 s: wall, CPU, allocations;
//                 the database is built once at PATH and reused; RetentionSweep.cs)
//   hour-close    --sources 2000 [--signals 9] [--db PATH]   (the writer across an hour's turn on a simulated clock, in
//                 real time, about 4 minutes: the managed heap and RSS before and after; HourClose.cs)
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;

var verb = args.Length > 0 ? args[0] : "";
var options = new Dictionary<string, string>();
for (var i = 1; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

string Opt(string name, string fallback) => options.GetValueOrDefault(name, fallback);
int Int(string name, int fallback) => int.Parse(Opt(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
TimeSpan Interval() => Durations.TryParse(Opt("interval", "60s"), out var every) ? every : throw new ArgumentException("bad --interval");

void Emit(object o) => Console.WriteLine(JsonSerializer.Serialize(o));

switch (verb)
{
    case "ingest":
        await Ingest(Int("series", 1000), Int("seconds", 20), Int("signals-per-poll", 10), Opt("clock", "data"), Opt("anchor", "yes") != "no");
        break;
    case "build-dataset":
        Roadmap.Bench.Storage.Dataset.Build(Int("days", 30), Int("series", 1000), Interval(), Opt("db", "bench-data/roadmap-30d.db"), Opt("layout", "raw") == "sealed", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), TimeProvider.System);
        break;
    case "build-check":
        return Roadmap.Bench.Storage.Dataset.Check(Int("days", 3), Int("series", 20), Interval());
    case "sizes":
        Roadmap.Bench.Storage.Footprint.Sizes(Opt("db", "bench-data/roadmap-30d.db"));
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
        await PostgresBench.Ingest(Opt("connection", ""), Int("series", 1000), Int("seconds", 20), Int("signals-per-poll", 10), Int("runs", 3), Opt("clock", "data"));
        break;
    case "pg-evaluate":
        PostgresBench.Evaluate(Opt("connection", ""), Opt("db", "bench-data/roadmap-30d.db"), Int("kpis", 1000), Int("days", 30));
        break;
    case "sketch-encode":
        SketchEncode(Int("series", 1000), Int("hours", 1), Int("seconds", 5));
        break;
    case "retention-sweep":
        await Roadmap.Bench.Storage.RetentionSweep.Run(Int("sources", 2000), Int("signals", 9), Int("minutes", 30), Opt("db", "bench-data/retention-sweep.db"), Int("sweeps", 3));
        break;
    case "hour-close":
        await Roadmap.Bench.Storage.HourClose.Run(Int("sources", 2000), Int("signals", 9), Opt("db", "bench-data/hour-close.db"));
        break;
    case "hot-layouts":
        Roadmap.Bench.Storage.HotLayouts.Run(Opt("layout", "series"), Int("sources", 10000), Int("signals", 9), Int("prefill", 200), Int("seconds", 60), Int("batch-ms", 500), Int("fold", 60), Int("reads", 2000));
        break;
    default:
        Console.Error.WriteLine("usage: ingest --series N --seconds S | build-dataset --days D --series N --interval 60s --db PATH | evaluate --db PATH --kpis N | codec --series N --days D");
        return 2;
}

return 0;

void SketchEncode(int series, int hours, int seconds)
{
    // The series of the realistic mix, sampled every second (the probe bench's rate) for the given hours.
    var t0 = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    var sketches = new List<QuantileSketch>(series);
    foreach (var spec in Roadmap.Bench.Storage.SignalGenerator.Series(series))
    {
        var sketch = new QuantileSketch();
        foreach (var point in Roadmap.Bench.Storage.SignalGenerator.Generate(spec with { IntervalMs = 1000 }, t0, t0 + (hours * 3_600_000L)))
        {
            sketch.Add(point.Value);
        }

        sketches.Add(sketch);
    }

    long bytes = 0;
    foreach (var sketch in sketches)
    {
        bytes += sketch.ToBytes().Length;
    }

    long encodes = 0;
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed.TotalSeconds < seconds)
    {
        foreach (var sketch in sketches)
        {
            _ = sketch.ToBytes();
        }

        encodes += sketches.Count;
    }

    var elapsed = clock.Elapsed.TotalSeconds;
    Emit(new { bench = "sketch-encode", series, hours, encodes, seconds = Math.Round(elapsed, 2), nsPerEncode = Math.Round(elapsed * 1e9 / encodes, 1), bytesPerSketch = Math.Round((double)bytes / sketches.Count, 1) });
}

async Task Ingest(int series, int seconds, int perPoll, string clock, bool anchored)
{
    var folder = Path.Combine(Path.GetTempPath(), "roadmap-bench-" + Guid.NewGuid().ToString("N"));
    try
    {
        var db = RoadmapDatabase.Open(Path.Combine(folder, "ingest.db"));
        var t0 = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var rate = (await WriterRun.Measure(db, series, seconds, perPoll, t0, "BatchedWriter", clock)).Rate;
        if (!anchored)
        {
            return;
        }

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

    (var values, from, now) = EvaluationRounds.Run(reader, names, kpis, days, from, now, "sqlite");
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
