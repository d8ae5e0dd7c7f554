using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Roadmap.EndToEnd.Tests.Reliability;

/// <summary>
/// A local JSON feed for heavy ingest: <c>GET /feed/{i}</c> answers <c>{"n": COUNT, "i": i}</c>, COUNT being how
/// often source i was asked. Kestrel on 127.0.0.1 and a free port, stopped on dispose.
/// </summary>
internal sealed class JsonFeed : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly long[] _counts;

    private JsonFeed(WebApplication app, long[] counts, string url)
    {
        _app = app;
        _counts = counts;
        Url = url;
    }

    public string Url { get; }

    /// <summary>Requests answered so far, all sources together.</summary>
    public long Requests => _counts.Sum();

    public static async Task<JsonFeed> StartAsync(int sources)
    {
        var counts = new long[sources];
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/feed/{i:int}", (int i) =>
        {
            var n = i >= 0 && i < counts.Length ? Interlocked.Increment(ref counts[i]) : 0;
            return Results.Text(string.Create(CultureInfo.InvariantCulture, $"{{\"n\": {n}, \"i\": {i}}}"), "application/json", Encoding.UTF8);
        });
        await app.StartAsync();
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new JsonFeed(app, counts, url);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Configs, databases and process plumbing shared by the reliability tests.</summary>
internal static class IngestRig
{
    /// <summary>Source ids are s000, s001, ...; each is a json source with signals n and i.</summary>
    public static string SourceId(int i) => i.ToString("'s'000", CultureInfo.InvariantCulture);

    /// <summary>Writes a config of <paramref name="sources"/> json sources polling the feed every <paramref name="every"/>.</summary>
    public static string WriteConfig(string dir, string feedUrl, int sources, string every, string? timeout = null)
    {
        var yaml = new StringBuilder();
        yaml.AppendLine("roadmap: { name: Reliability }");
        yaml.AppendLine("settings: { evaluateEvery: 1h }");
        yaml.AppendLine("sources:");
        for (var i = 0; i < sources; i++)
        {
            var t = timeout is null ? "" : $", timeout: {timeout}";
            yaml.AppendLine(CultureInfo.InvariantCulture, $"  - {{ id: {SourceId(i)}, kind: json, every: {every}{t}, url: \"{feedUrl}/feed/{i}\", signals: {{ n: $.n, i: $.i }} }}");
        }

        var path = Path.Combine(dir, "roadmap.yaml");
        File.WriteAllText(path, yaml.ToString());
        return path;
    }

    /// <summary>
    /// Environment for the worker under load: per-poll warnings off (a failed poll is still stored and counted; a
    /// warning per poll at thousands of polls a second only measures the console).
    /// </summary>
    public static Dictionary<string, string?> QuietEnvironment() => new()
    {
        ["Logging__LogLevel__Roadmap.Worker.Scheduling.PollJob"] = "Error",
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
    };

    /// <summary>A connection that cannot write or checkpoint, and is not pooled: it sees only committed transactions.</summary>
    public static SqliteConnection OpenReader(string database)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = database,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        c.Open();
        using var busy = c.CreateCommand();
        busy.CommandText = "PRAGMA busy_timeout=5000;";
        busy.ExecuteNonQuery();
        return c;
    }

    /// <summary>Waits for /readyz to answer 200; false when the process exits or the timeout passes first.</summary>
    public static async Task<bool> WaitReadyAsync(HttpClient http, WorkerProcess p, TimeSpan timeout)
    {
        var until = TimeProvider.System.GetTimestamp();
        while (TimeProvider.System.GetElapsedTime(until) < timeout && !p.HasExited)
        {
            try
            {
                using var r = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(20);
        }

        return false;
    }
}

/// <summary>The worker under test with an HTTP client on its address; SIGKILLed on dispose if still running.</summary>
internal sealed class RunningWorker : IAsyncDisposable
{
    private RunningWorker(WorkerProcess process, HttpClient http)
    {
        Process = process;
        Http = http;
    }

    public WorkerProcess Process { get; }

    public HttpClient Http { get; }

    /// <summary>Starts the worker on a free port and waits until /readyz answers 200.</summary>
    public static async Task<RunningWorker> StartAsync(string dir, string config, string database)
    {
        var port = Support.FreePort();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        var p = WorkerProcess.Start(dir, IngestRig.QuietEnvironment(), "run", "--config", config, "--database", database, "--urls", $"http://127.0.0.1:{port}");
        if (!await IngestRig.WaitReadyAsync(http, p, TimeSpan.FromSeconds(60)))
        {
            await p.DisposeAsync();
            http.Dispose();
            throw new InvalidOperationException($"the worker was not ready within 60 s; stderr:\n{p.Stderr}\nstdout:\n{p.Stdout}");
        }

        return new RunningWorker(p, http);
    }

    public Task<string> ScrapeAsync() => Http.GetStringAsync(new Uri("/metrics", UriKind.Relative));

    /// <summary>Polls committed with a start time at or after <paramref name="fromMs"/> (and before <paramref name="toMs"/>), as a reader sees them.</summary>
    public static long CommittedPolls(string database, long fromMs, long toMs = long.MaxValue)
    {
        using var reader = IngestRig.OpenReader(database);
        using var cmd = reader.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM polls WHERE ts >= $from AND ts < $to;";
        cmd.Parameters.AddWithValue("$from", fromMs);
        cmd.Parameters.AddWithValue("$to", toMs);
        return (long)cmd.ExecuteScalar()!;
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        Http.Dispose();
    }
}

/// <summary>The line the worker logs when it stops: every counted poll is either written or dropped.</summary>
internal sealed partial record StorageClosed(long Counted, long Written, long Dropped)
{
    public static StorageClosed? Find(string stdout)
    {
        var m = Line().Match(stdout);
        return m.Success
            ? new StorageClosed(
                long.Parse(m.Groups["counted"].Value, CultureInfo.InvariantCulture),
                long.Parse(m.Groups["written"].Value, CultureInfo.InvariantCulture),
                long.Parse(m.Groups["dropped"].Value, CultureInfo.InvariantCulture))
            : null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"Storage closed: (?<counted>\d+) polls counted, (?<written>\d+) polls written, (?<dropped>\d+) dropped")]
    private static partial System.Text.RegularExpressions.Regex Line();
}
