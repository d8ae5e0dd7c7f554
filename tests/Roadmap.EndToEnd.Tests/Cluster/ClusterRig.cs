using System.Globalization;
using System.Text;
using Npgsql;
using Roadmap.Core.Config;
using Roadmap.Sources.Tests.Sql;

namespace Roadmap.EndToEnd.Tests.Cluster;

/// <summary>How the rig runs the worker.</summary>
/// <param name="Sources">http sources, each every second, each at its own path of the target.</param>
/// <param name="Cluster">settings.cluster enabled (with its defaults); false: each replica runs alone.</param>
/// <param name="InstanceIds">Each replica gets <c>--instance-id NODE</c>.</param>
internal sealed record ClusterRigOptions(int Sources, bool Cluster, bool InstanceIds)
{
    public const long EveryMs = 1000;
}

/// <summary>
/// One real PostgreSQL database, the hit-logging target, a config of http sources (and a few KPIs over them, so
/// roadmap_kpi_ series exist), and real worker processes started by a function (the JIT build or the native one),
/// each on its own port that it keeps over restarts. A scraper reads /metrics of every live replica each second.
/// Every start, kill, freeze and stop is logged with its time for the audit.
/// </summary>
internal sealed class ClusterRig : IAsyncDisposable
{
    private static readonly TimeSpan ScrapeEvery = TimeSpan.FromSeconds(1);

    private readonly ClusterRigOptions _options;
    private readonly Func<IReadOnlyDictionary<string, string?>, string[], WorkerProcess> _start;
    private readonly TimeProvider _time = TimeProvider.System;
    private readonly Dictionary<string, Replica> _replicas = [];
    private readonly List<WorkerProcess> _processes = [];
    private readonly List<ReplicaEvent> _events = [];
    private readonly List<Scrape> _scrapes = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly CancellationTokenSource _stop = new();
    private readonly string _dir = Support.TempFolder();
    private Task _scraping = Task.CompletedTask;

    private ClusterRig(ClusterRigOptions options, Func<IReadOnlyDictionary<string, string?>, string[], WorkerProcess> start, string connectionString, HitTarget target)
    {
        _options = options;
        _start = start;
        ConnectionString = connectionString;
        Target = target;
        ConfigPath = Path.Combine(_dir, "roadmap.yaml");
        File.WriteAllText(ConfigPath, Config(options, target.Port));
    }

    public HitTarget Target { get; }

    public string ConnectionString { get; }

    public string ConfigPath { get; }

    public IReadOnlyList<AuditedSource> Sources => [.. Enumerable.Range(0, _options.Sources).Select(i => new AuditedSource(SourceId(i), ClusterRigOptions.EveryMs))];

    public IReadOnlyList<ReplicaEvent> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public IReadOnlyList<Scrape> Scrapes
    {
        get
        {
            lock (_scrapes)
            {
                return [.. _scrapes];
            }
        }
    }

    /// <summary>The latest scrape round, null before the first.</summary>
    public Scrape? LatestScrape
    {
        get
        {
            lock (_scrapes)
            {
                return _scrapes.Count == 0 ? null : _scrapes[^1];
            }
        }
    }

    public long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Creates a database of its own on <paramref name="server"/>, starts the target and the scraper; no replica yet.</summary>
    public static async Task<ClusterRig> StartAsync(PostgresServer server, ClusterRigOptions options, Func<IReadOnlyDictionary<string, string?>, string[], WorkerProcess> start)
    {
        var database = "cluster_" + Guid.NewGuid().ToString("N")[..12];
        await server.ScalarAsync($"CREATE DATABASE {database}");
        var connection = server.ConnectionString().Replace("Database=postgres", $"Database={database}", StringComparison.Ordinal);
        var rig = new ClusterRig(options, start, connection, new HitTarget(TimeProvider.System));
        rig._scraping = rig.ScrapeLoopAsync();
        return rig;
    }

    public static string SourceId(int i) => i.ToString("'s'000", CultureInfo.InvariantCulture);

    private static string Config(ClusterRigOptions options, int port)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine("roadmap: { name: Cluster audit }");
        yaml.AppendLine("settings:");
        yaml.AppendLine("  storage: { kind: postgres, connectionString: \"${ROADMAP_PG}\" }");
        if (options.Cluster)
        {
            yaml.AppendLine("  cluster: { enabled: true }");
        }

        yaml.AppendLine("sources:");
        for (var i = 0; i < options.Sources; i++)
        {
            yaml.AppendLine(CultureInfo.InvariantCulture, $"  - {{ id: {SourceId(i)}, kind: http, every: 1s, url: \"http://127.0.0.1:{port}/s/{i}\" }}");
        }

        yaml.AppendLine("initiatives:");
        yaml.AppendLine("  - id: platform");
        yaml.AppendLine("    name: Platform");
        yaml.AppendLine("    kpis:");
        for (var i = 0; i < Math.Min(3, options.Sources); i++)
        {
            yaml.AppendLine(CultureInfo.InvariantCulture, $"      - {{ id: uptime-{i}, source: {SourceId(i)}, signal: up, window: 1h, target: \">= 99%\" }}");
        }

        yaml.AppendLine(CultureInfo.InvariantCulture, $"      - {{ id: latency, source: {SourceId(0)}, signal: latency_seconds, aggregate: p95, window: 1h, target: \"< 5s\" }}");
        return yaml.ToString();
    }

    /// <summary>Starts (or restarts, on the same port) the replica <paramref name="node"/>.</summary>
    public void Start(string node)
    {
        Replica? replica;
        lock (_replicas)
        {
            if (!_replicas.TryGetValue(node, out replica))
            {
                replica = _replicas[node] = new Replica(node, Support.FreePort());
            }
        }

        if (replica.Process is { HasExited: false })
        {
            throw new InvalidOperationException($"replica {node} is running");
        }

        var environment = new Dictionary<string, string?>
        {
            ["ROADMAP_PG"] = ConnectionString,
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
        };
        string[] args = ["run", "--config", ConfigPath, "--urls", replica.Url];
        if (_options.InstanceIds)
        {
            args = [.. args, "--instance-id", node];
        }

        Record(node, ReplicaEventKind.Started);
        replica.Process = _start(environment, args);
        replica.Frozen = false;
        lock (_processes)
        {
            _processes.Add(replica.Process);
        }
    }

    /// <summary>SIGKILL; returns once the process is gone.</summary>
    public async Task KillAsync(string node)
    {
        var p = Running(node);
        Record(node, ReplicaEventKind.Killed);
        await p.KillAsync();
    }

    /// <summary>SIGSTOP: the process stays, silent, its sockets open.</summary>
    public void Freeze(string node)
    {
        var p = Running(node);
        Record(node, ReplicaEventKind.Frozen);
        p.Signal("STOP");
        _replicas[node].Frozen = true;
    }

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw(string node)
    {
        var p = Running(node);
        p.Signal("CONT");
        _replicas[node].Frozen = false;
        Record(node, ReplicaEventKind.Thawed);
    }

    /// <summary>SIGTERM; returns the exit code, or null when it did not exit within <paramref name="patience"/>.</summary>
    public async Task<int?> TerminateAsync(string node, TimeSpan patience)
    {
        var p = Running(node);
        Record(node, ReplicaEventKind.Terminated);
        p.Terminate();
        return await p.WaitForExitAsync(patience) ? p.ExitCode : null;
    }

    /// <summary>Whether the replica's process is running (frozen or not).</summary>
    public bool IsRunning(string node) => _replicas.TryGetValue(node, out var r) && r.Process is { HasExited: false };

    /// <summary>Waits until a scrape round, started after this call, satisfies <paramref name="condition"/>; false after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForScrapeAsync(Func<Scrape, bool> condition, TimeSpan timeout)
    {
        var since = Now;
        var until = _time.GetTimestamp();
        while (_time.GetElapsedTime(until) < timeout)
        {
            var latest = LatestScrape;
            if (latest is not null && latest.At >= since && condition(latest))
            {
                return true;
            }

            await Task.Delay(200);
        }

        return false;
    }

    /// <summary>Waits until the replica's /readyz answers 200; false when it exits or the timeout passes first.</summary>
    public async Task<bool> WaitReadyAsync(string node, TimeSpan timeout)
    {
        var replica = _replicas[node];
        return await Support.EventuallyAsync(
            async () =>
            {
                if (replica.Process is not { HasExited: false })
                {
                    return false;
                }

                using var r = await _http.GetAsync(new Uri(replica.Url + "/readyz"));
                return r.IsSuccessStatusCode;
            },
            timeout);
    }

    /// <summary>Every stored poll.</summary>
    public async Task<List<StoredPoll>> ReadPollsAsync()
    {
        await using var c = await OpenAsync();
        await using var command = new NpgsqlCommand("SELECT source, coalesce(scheduled_ts, -1), coalesce(node, ''), ts FROM polls", c);
        await using var reader = await command.ExecuteReaderAsync();
        var polls = new List<StoredPoll>();
        while (await reader.ReadAsync())
        {
            polls.Add(new StoredPoll(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3)));
        }

        return polls;
    }

    /// <summary>The shard_windows table (the evaluation windows left out), with the cluster's default shards and window.</summary>
    public async Task<Ownership> ReadOwnershipAsync()
    {
        await using var c = await OpenAsync();
        await using var command = new NpgsqlCommand("SELECT shard, window_start, node FROM shard_windows WHERE shard >= 0", c);
        await using var reader = await command.ExecuteReaderAsync();
        var owners = new Dictionary<(int, long), string>();
        while (await reader.ReadAsync())
        {
            owners[(reader.GetInt32(0), reader.GetInt64(1))] = reader.GetString(2);
        }

        return new Ownership(owners, ClusterConfig.DefaultShards, (long)ClusterConfig.DefaultWindow.TotalMilliseconds);
    }

    /// <summary>Ticks stored more than once, as SQL counts them (the audit counts them again from the rows).</summary>
    public async Task<long> StoredDuplicateTicksAsync() =>
        await ScalarAsync("SELECT count(*) FROM (SELECT source, scheduled_ts FROM polls GROUP BY source, scheduled_ts HAVING count(*) > 1) d");

    /// <summary>Transactions committed in the rig's database so far (pg_stat_database; the statistics lag by up to a second).</summary>
    public async Task<long> CommitsAsync() =>
        await ScalarAsync("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");

    /// <summary>The target's log as polls of sources (hits on other paths are dropped).</summary>
    public IReadOnlyList<TargetHit> Hits() =>
        [.. Target.Hits.Where(h => h.Path.StartsWith("/s/", StringComparison.Ordinal) && int.TryParse(h.Path.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < _options.Sources)
            .Select(h => new TargetHit(SourceId(int.Parse(h.Path.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture)), h.At))];

    /// <summary>Every process's output so far, for a failing test's message.</summary>
    public string Output()
    {
        var s = new StringBuilder();
        foreach (var (node, replica) in _replicas)
        {
            s.AppendLine(CultureInfo.InvariantCulture, $"--- replica {node} ({replica.Url}), last process {(replica.Process is { HasExited: true } p ? $"exited {p.ExitCode}" : "running")}");
            lock (_processes)
            {
                foreach (var process in _processes.Where(x => replica.History.Contains(x)))
                {
                    s.AppendLine(Tail(process.Stdout + process.Stderr, 40));
                }
            }
        }

        return s.ToString();
    }

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));

    private WorkerProcess Running(string node) =>
        _replicas.TryGetValue(node, out var r) && r.Process is { HasExited: false } p ? p : throw new InvalidOperationException($"replica {node} is not running");

    private void Record(string node, ReplicaEventKind kind)
    {
        lock (_events)
        {
            _events.Add(new ReplicaEvent(Now, node, kind));
        }
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var c = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await c.OpenAsync();
        return c;
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var c = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, c);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private async Task ScrapeLoopAsync()
    {
        using var timer = new PeriodicTimer(ScrapeEvery, _time);
        do
        {
            var at = Now;
            List<Replica> live;
            lock (_replicas)
            {
                live = [.. _replicas.Values.Where(r => r.Process is { HasExited: false })];
            }

            var views = await Task.WhenAll(live.Select(ScrapeAsync));
            var scrape = new Scrape(at, live.Zip(views).ToDictionary(x => x.First.Node, x => x.Second));
            lock (_scrapes)
            {
                _scrapes.Add(scrape);
            }
        }
        while (await Wait(timer));
    }

    private async Task<bool> Wait(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<ReplicaView> ScrapeAsync(Replica replica)
    {
        // Within the scrape interval: a replica that cannot answer in time (frozen, or stalled) is not exporting.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(ScrapeEvery * 0.9);
        try
        {
            var text = await _http.GetStringAsync(new Uri(replica.Url + "/metrics"), timeout.Token);
            var kpis = text.Split('\n').Any(l => l.StartsWith("roadmap_kpi_", StringComparison.Ordinal));
            return new ReplicaView(true, kpis, Support.Value(text, "roadmap_cluster_sources_held"));
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return new ReplicaView(false, false, null);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _scraping;
        foreach (var replica in _replicas.Values.Where(r => r.Frozen && r.Process is { HasExited: false }))
        {
            replica.Process!.Signal("CONT");
        }

        List<WorkerProcess> processes;
        lock (_processes)
        {
            processes = [.. _processes];
        }

        foreach (var p in processes)
        {
            await p.DisposeAsync();
        }

        await Target.DisposeAsync();
        _http.Dispose();
        _stop.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private sealed class Replica(string node, int port)
    {
        private WorkerProcess? _process;

        public string Node { get; } = node;

        public string Url { get; } = $"http://127.0.0.1:{port}";

        public List<WorkerProcess> History { get; } = [];

        public bool Frozen { get; set; }

        public WorkerProcess? Process
        {
            get => _process;
            set
            {
                _process = value;
                if (value is not null)
                {
                    History.Add(value);
                }
            }
        }
    }
}
