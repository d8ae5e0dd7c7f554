using System.Net;
using System.Text;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Http;

/// <summary>One http probe target. See <see cref="HttpSourceKind"/>.</summary>
public sealed class HttpSource(SourceConfig config, SourceContext context) : ISource
{
    private readonly HttpProbeOptions _options = (HttpProbeOptions)config.Options;

    public SourceConfig Config => config;

    public string? Target => SourceTarget.Of(_options.Url, config);

    public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var time = context.Time;
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(config.Timeout, time);
        // The linked pair only when the caller can cancel at all.
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token) : null;
        var token = linked?.Token ?? timeout.Token;

        // A new handler per probe: no pooled connection survives it, so every probe pays (and measures) the
        // connect, as blackbox_exporter does. Proxies and cookies would make the probe measure something else.
        // The connect goes through the network policy, so the first request and every redirect hop connect only to
        // addresses it allows. The callback is one shared delegate; the handler is per probe as before.
        // Redirects are followed by RedirectPolicy, not the handler: the handler forwarded every header but
        // Authorization (Cookie, X-Api-Key, ...) to any host, and followed a Location of any scheme.
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectTimeout = config.Timeout,
        }.Guard(context.Network);
        // An invoker, not an HttpClient: the probe has its own timeout, and HttpClient would add a linked token source
        // and pending-request bookkeeping per call. The handler hands back the response at its headers either way.
        using var client = new HttpMessageInvoker(handler, disposeHandler: false);

        int? status = null;
        try
        {
            var end = await RedirectPolicy.SendAsync(Request, client.SendAsync, context.Network.MaxRedirects, token);
            using var response = end.Response;
            status = (int)response.StatusCode;
            var body = await ReadBodyAsync(response, keep: _options.BodyContains is not null, token);
            var latency = time.GetElapsedTime(started);
            var samples = Samples(up: false, latency, status);
            if (end.Refused)
            {
                return PollResult.Failed(end.NotFollowed!, latency, samples);
            }

            var statusOk = _options.ExpectStatus.Count == 0 ? status is >= 200 and <= 299 : _options.ExpectStatus.Contains(status.Value);
            if (!statusOk)
            {
                var expected = _options.ExpectStatus.Count == 0 ? "2xx" : string.Join(" or ", _options.ExpectStatus);
                return PollResult.Failed(end.NotFollowed ?? $"HTTP {status} {response.ReasonPhrase}".TrimEnd() + $", expected {expected}", latency, samples);
            }

            if (_options.BodyContains is { } needle && !body!.Contains(needle, StringComparison.Ordinal))
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

    /// <summary>The request as configured; each redirect hop starts from a new one (<see cref="RedirectPolicy"/>).</summary>
    private HttpRequestMessage Request()
    {
        var request = new HttpRequestMessage(new HttpMethod(_options.Method), _options.Url);
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

        return request;
    }

    /// <summary>
    /// Reads the body (so latency covers it, as a browser would wait for it) but never more than the cap; returns it
    /// decoded when <paramref name="keep"/> (bodyContains is set), else null: nobody reads it, so it is not kept.
    /// </summary>
    private static async Task<string?> ReadBodyAsync(HttpResponseMessage response, bool keep, CancellationToken ct)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            using var kept = keep ? new MemoryStream() : null;
            var total = 0;
            int n;
            while (total < HttpProbeOptions.MaxBodyBytes && (n = await stream.ReadAsync(buffer, ct)) > 0)
            {
                kept?.Write(buffer, 0, Math.Min(n, HttpProbeOptions.MaxBodyBytes - total));
                total += n;
            }

            return kept is null ? null : Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
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
