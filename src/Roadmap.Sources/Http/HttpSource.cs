using System.Net;
using System.Text;
using Roadmap.Core.Config;

namespace Roadmap.Sources.Http;

/// <summary>One http probe target. See <see cref="HttpSourceKind"/>.</summary>
public sealed class HttpSource(SourceConfig config, SourceContext context) : ISource
{
    private readonly HttpProbeOptions _options = (HttpProbeOptions)config.Options;

    public SourceConfig Config => config;

    public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var time = context.Time;
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(config.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);

        // A new handler per probe: no pooled connection survives it, so every probe pays (and measures) the
        // connect, as blackbox_exporter does. Proxies and cookies would make the probe measure something else.
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = true,
            MaxAutomaticRedirections = 10,
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectTimeout = config.Timeout,
        };
        using var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(new HttpMethod(_options.Method), _options.Url);
        request.Headers.ConnectionClose = true;
        request.Headers.UserAgent.ParseAdd("Roadmap-probe/1.0");
        foreach (var (name, value) in _options.Headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        int? status = null;
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            status = (int)response.StatusCode;
            var body = await ReadBodyAsync(response, linked.Token);
            var latency = time.GetElapsedTime(started);
            var samples = Samples(up: false, latency, status);

            var statusOk = _options.ExpectStatus.Count == 0 ? status is >= 200 and <= 299 : _options.ExpectStatus.Contains(status.Value);
            if (!statusOk)
            {
                var expected = _options.ExpectStatus.Count == 0 ? "2xx" : string.Join(" or ", _options.ExpectStatus);
                return PollResult.Failed($"HTTP {status} {response.ReasonPhrase}, expected {expected}".Replace("  ", " ", StringComparison.Ordinal), latency, samples);
            }

            if (_options.BodyContains is { } needle && !body.Contains(needle, StringComparison.Ordinal))
            {
                return PollResult.Failed($"body does not contain \"{needle}\"", latency, samples);
            }

            return PollResult.Ok(Samples(up: true, latency, status), latency);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            return PollResult.Failed($"timeout after {Durations.Format(config.Timeout)}", time.GetElapsedTime(started), Samples(false, null, status));
        }
        catch (HttpRequestException e)
        {
            return PollResult.Failed(NetworkErrors.Describe(e), time.GetElapsedTime(started), Samples(false, null, status));
        }
        catch (IOException e)
        {
            return PollResult.Failed($"connection error: {e.Message}", time.GetElapsedTime(started), Samples(false, null, status));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static async Task<string> ReadBodyAsync(HttpResponseMessage response, CancellationToken ct)
    {
        // Read the body (so latency covers it, as a browser would wait for it) but never more than the cap.
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[16 * 1024];
        using var kept = new MemoryStream();
        int n;
        while ((n = await stream.ReadAsync(buffer, ct)) > 0)
        {
            var room = HttpProbeOptions.MaxBodyBytes - (int)kept.Length;
            kept.Write(buffer, 0, Math.Min(n, room));
            if (kept.Length >= HttpProbeOptions.MaxBodyBytes)
            {
                break;
            }
        }

        return Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length);
    }

    private static List<Sample> Samples(bool up, TimeSpan? latency, int? status)
    {
        var samples = new List<Sample>(3) { new(HttpSourceKind.Up, up ? 1 : 0) };
        if (latency is { } l)
        {
            samples.Add(new(HttpSourceKind.LatencySeconds, l.TotalSeconds));
        }

        if (status is { } s)
        {
            samples.Add(new(HttpSourceKind.StatusCode, s));
        }

        return samples;
    }
}
