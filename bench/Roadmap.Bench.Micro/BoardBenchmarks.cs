using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Data.Sqlite;
using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Sources;
using Roadmap.Storage;
using Roadmap.Storage.Sqlite;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Reporting;
using Roadmap.Worker.Reporting.Svg;

namespace Roadmap.Bench.Micro;

/// <summary>
/// The board at / as its endpoint builds it, for 100 initiatives of 10 KPIs each (a timeline bar per initiative and a
/// sparkline per KPI of a 7-day window) over 7 days of stored evaluations, one every 5 minutes per KPI (2 million rows),
/// so every sparkline has its full 96 points. <see cref="Board"/> is a render as the page's refresh sees it: the trails are
/// in memory and only rows stored since the last render are read. <see cref="BoardFirstRender"/> is the first render
/// with sparklines after a start: the trails' load (each KPI's window read thinned in storage, about 96 rows per KPI,
/// which the service does in the background at start) and a render. <see cref="BoardWhileTrendsLoad"/> is what a request
/// gets while that load runs: the page without sparklines. A refresh does not depend on how long the history is (each
/// KPI keeps at most 96 points in memory); the load grows with the number of KPIs, not with the rows each has. The
/// database is built once into bench/.data/ (a few minutes) and reused.
/// </summary>
[MemoryDiagnoser]
public class BoardBenchmarks
{
    private const int Initiatives = 100;
    private const int KpisEach = 10;
    private const int HistoryDays = 7;
    private static readonly DateTimeOffset Now = new(2027, 2, 15, 12, 0, 0, TimeSpan.Zero);

    private RoadmapConfig _config = null!;
    private RoadmapSnapshot _snapshot = null!;
    private IEvaluationStore _store = null!;
    private KpiTrails _trails = null!;

    [GlobalSetup]
    public void Setup()
    {
        var loaded = new ConfigLoader(SourceKinds.All).Load(Yaml(), "board-bench.yaml");
        if (!loaded.IsValid)
        {
            throw new InvalidOperationException(string.Join("\n", loaded.Errors));
        }

        _config = loaded.Config!;
        var path = DatabasePath();
        var fresh = !File.Exists(path);
        var database = RoadmapDatabase.Open(fresh ? path + ".part" : path);
        _store = database.Evaluations;
        if (fresh)
        {
            Fill(database);
            SqliteConnection.ClearAllPools();
            File.Move(path + ".part", path);
            database = RoadmapDatabase.Open(path);
            _store = database.Evaluations;
        }

        _snapshot = Snapshot(_config);
        _trails = new KpiTrails(_store);
        _trails.Read(_config, Now);
    }

    /// <summary>A refresh of the board: trails in memory, the rows stored since the last render read, the page rendered.</summary>
    [Benchmark]
    public int Board() => Render(_trails);

    /// <summary>The first render with sparklines after a start: the trails loaded (thinned in storage), then the page rendered.</summary>
    [Benchmark]
    public int BoardFirstRender() => Render(new KpiTrails(_store));

    /// <summary>A request while the trails are loading: the page without sparklines, each KPI saying its trend is loading.</summary>
    [Benchmark]
    public int BoardWhileTrendsLoad() =>
        HtmlRenderer.Render(RoadmapViewBuilder.Build(_config, _snapshot), TimeSpan.FromSeconds(15), BoardVisuals.For(_config, null, Now)).Length;

    private int Render(KpiTrails trails)
    {
        var visuals = BoardVisuals.For(_config, trails.Read(_config, Now), Now);
        return HtmlRenderer.Render(RoadmapViewBuilder.Build(_config, _snapshot), TimeSpan.FromSeconds(15), visuals).Length;
    }

    private static string DatabasePath()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Roadmap.sln")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        var data = Path.Combine(dir ?? Path.GetTempPath(), "bench", ".data");
        Directory.CreateDirectory(data);
        return Path.Combine(data, "board-history-7d-v1.db");
    }

    private static string Yaml()
    {
        var y = new StringBuilder();
        y.Append("roadmap: { name: Bench }\nsources:\n");
        for (var s = 0; s < 10; s++)
        {
            y.Append(CultureInfo.InvariantCulture, $"  - {{ id: s{s}, kind: http, url: \"http://127.0.0.1:1/{s}\" }}\n");
        }

        y.Append("initiatives:\n");
        for (var i = 0; i < Initiatives; i++)
        {
            var start = new DateOnly(2026, 1, 1).AddDays(i * 7);
            y.Append(CultureInfo.InvariantCulture, $"  - id: i{i:000}\n    name: Initiative number {i} with a longer name\n");
            y.Append(CultureInfo.InvariantCulture, $"    timeline: {{ start: {start:yyyy-MM-dd}, due: {start.AddDays(120 + (i % 5 * 30)):yyyy-MM-dd} }}\n");
            y.Append(i % 3 == 0 ? "    status: in-progress\n" : "");
            if (i > 0)
            {
                y.Append(CultureInfo.InvariantCulture, $"    dependsOn: [i{i - 1:000}]\n");
            }

            y.Append("    risks: [{ risk: Something slips, mitigation: Plan for it }]\n    kpis:\n");
            for (var k = 0; k < KpisEach; k++)
            {
                var deadline = k % 2 == 0 ? ", deadline: 2027-06-30" : "";
                y.Append(CultureInfo.InvariantCulture, $"      - {{ id: k{k}, source: s{k}, signal: latency_seconds, aggregate: p95, window: 7d, target: \"<= 0.3\", unit: seconds{deadline} }}\n");
            }
        }

        return y.ToString();
    }

    /// <summary>
    /// <see cref="HistoryDays"/> of evaluations every 5 minutes for every KPI, stored round after round as the service stores them (one
    /// SQL statement: a million rows a minute through the store would take a quarter of an hour).
    /// </summary>
    private void Fill(RoadmapDatabase database)
    {
        var keys = string.Join(",", _config.Initiatives.SelectMany(i => i.Kpis.Select(k => $"[\"{i.Id}\",\"{k.Id}\"]")));
        using var c = database.OpenConnection();
        using (var cache = c.CreateCommand())
        {
            // The index takes rows for every KPI at once: with its pages cached the fill is minutes faster.
            cache.CommandText = "PRAGMA cache_size = -262144;";
            cache.ExecuteNonQuery();
        }

        using var tx = c.BeginTransaction();
        using var insert = c.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = """
            WITH RECURSIVE t(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM t WHERE n < $rounds)
            INSERT INTO evaluations (initiative, kpi, ts, value, target, status, rules)
            SELECT json_extract(k.value, '$[0]'), json_extract(k.value, '$[1]'), $start + (t.n * 300000),
                   0.2 + ((t.n * 7 + k.key * 13) % 20) / 100.0, 0.3,
                   CASE WHEN 0.2 + ((t.n * 7 + k.key * 13) % 20) / 100.0 <= 0.3 THEN 'met' ELSE 'at_risk' END, 2
            FROM t, json_each($keys) k
            ORDER BY t.n, k.key;
            """;
        insert.Parameters.AddWithValue("$rounds", (int)(TimeSpan.FromDays(HistoryDays) / TimeSpan.FromMinutes(5)));
        insert.Parameters.AddWithValue("$start", (Now - TimeSpan.FromDays(HistoryDays)).ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$keys", "[" + keys + "]");
        insert.ExecuteNonQuery();
        tx.Commit();
    }

    private static RoadmapSnapshot Snapshot(RoadmapConfig config)
    {
        var kpis = new List<KpiEvaluation>();
        var initiatives = new List<InitiativeEvaluation>();
        foreach (var i in config.Initiatives)
        {
            var own = i.Kpis.Select((k, n) => new KpiEvaluation(
                i.Id, k.Id, Now, 0.2 + (n * 0.02), 0.3, n < 5, n < 5 ? KpiStatus.Met : KpiStatus.OnTrack, null, 100, "note",
                Forecast: 0.28, WindowLength: TimeSpan.FromDays(30), ForecastLower: 0.2, ForecastUpper: 0.35, ForecastProbability: 0.6)).ToList();
            kpis.AddRange(own);
            initiatives.Add(InitiativeHealth.Evaluate(config, i, own, Now));
        }

        return new RoadmapSnapshot(Now, kpis, initiatives);
    }
}
