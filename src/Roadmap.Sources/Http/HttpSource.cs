using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Http;

/// <summary>One http probe target. See <see cref="HttpSourceKind"/>.</summary>
public sealed class HttpSource(SourceConfig config, SourceContext context) : ISource
{
    private readonly HttpProbeOptions _options = (HttpProbeOptions)config.Options;
    private readonly TlsClient _tls = new(
        ((HttpProbeOptions)config.Options).Tls ?? TlsSettings.Default, config.Id, context.Logs.CreateLogger(typeof(TlsClient).FullName!), context.Time);

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
        // addresses it allows; the TLS handshake is ours too (TracedConnect), so it is timed, its certificates seen,
        // and the tls block applies to every https hop. Redirects are followed by RedirectPolicy, not the handler:
        // the handler forwarded every header but Authorization (Cookie, X-Api-Key, ...) to any host, and followed a
        // Location of any scheme.
        var trip = new Trip(time);
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectTimeout = config.Timeout,
        }.Traced(context.Network, time, _tls, trip.Connected);
        // An invoker, not an HttpClient: the probe has its own timeout, and HttpClient would add a linked token source
        // and pending-request bookkeeping per call. The handler hands back the response at its headers either way.
        using var client = new HttpMessageInvoker(handler, disposeHandler: false);

        int? status = null;
        try
        {
            var end = await RedirectPolicy.SendAsync(Request, (request, ct) => trip.SendAsync(client, request, ct), context.Network.MaxRedirects, token);
            using var response = end.Response;
            status = (int)response.StatusCode;
            var headersAt = time.GetTimestamp();
            var (body, read) = await ReadBodyAsync(response, keep: _options.BodyContains is not null, token);
            trip.Transfer = time.GetElapsedTime(headersAt);
            trip.BodyBytes = read;
            var latency = time.GetElapsedTime(started);
            var samples = trip.Samples(up: false, latency, status);
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

            return PollResult.Ok(trip.Samples(up: true, latency, status), latency);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            return PollResult.Failed($"timeout after {Durations.Format(config.Timeout)}", time.GetElapsedTime(started), trip.Samples(false, null, status));
        }
        catch (HttpRequestException e)
        {
            return PollResult.Failed(NetworkErrors.Describe(e), time.GetElapsedTime(started), trip.Samples(false, null, status));
        }
        catch (IOException e)
        {
            return PollResult.Failed($"connection error: {e.Message}", time.GetElapsedTime(started), trip.Samples(false, null, status));
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
    /// decoded when <paramref name="keep"/> (bodyContains is set), else null (nobody reads it, so it is not kept), and
    /// how many bytes were read.
    /// </summary>
    private static async Task<(string? Body, int Read)> ReadBodyAsync(HttpResponseMessage response, bool keep, CancellationToken ct)
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

            // Bytes read, at most the cap: the last read may pass it by part of a buffer, which is not counted.
            var read = Math.Min(total, HttpProbeOptions.MaxBodyBytes);
            return (kept is null ? null : Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length), read);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// One probe's way to its answer: the connections opened (every redirect hop opens its own: Connection: close and
    /// no pooling), what each took, and the time from a ready connection to the response's headers. Phases are summed
    /// over the chain, as blackbox_exporter does; the TLS version and certificate expiry are those of the connection
    /// that gave the last answer.
    /// </summary>
    private sealed class Trip(TimeProvider time)
    {
        private readonly Lock _gate = new();
        private readonly List<ConnectionTrace> _connections = [];
        private ConnectionTrace? _last;
        private int _sent;

        public TimeSpan Processing { get; private set; }

        public TimeSpan? Transfer { get; set; }

        public int? BodyBytes { get; set; }

        // The handler may open the connection on a task of its own: the list is shared with it.
        public void Connected(ConnectionTrace trace)
        {
            lock (_gate)
            {
                _connections.Add(trace);
            }
        }

        public async Task<HttpResponseMessage> SendAsync(HttpMessageInvoker client, HttpRequestMessage request, CancellationToken ct)
        {
            int before;
            lock (_gate)
            {
                before = _connections.Count;
            }

            var sent = time.GetTimestamp();
            _sent++;
            var response = await client.SendAsync(request, ct);
            var answered = time.GetTimestamp();
            lock (_gate)
            {
                _last = _connections.Count > before ? _connections[^1] : _last;
                var ready = _connections.Count > before ? Math.Max(_connections[^1].ReadyAt, sent) : sent;
                Processing += time.GetElapsedTime(ready, answered);
            }

            return response;
        }

        public List<Sample> Samples(bool up, TimeSpan? latency, int? status)
        {
            var samples = new List<Sample>(12) { new(HttpSourceKind.Up, up ? 1 : 0) };
            if (latency is { } l)
            {
                samples.Add(new(HttpSourceKind.LatencySeconds, l.TotalSeconds));
            }

            if (status is { } s)
            {
                samples.Add(new(HttpSourceKind.StatusCode, s));
            }

            lock (_gate)
            {
                // Only phases that completed: a refused connect has a lookup time but no connect time.
                Phase(samples, HttpSourceKind.DnsSeconds, _connections.Select(c => c.Resolve));
                Phase(samples, HttpSourceKind.ConnectSeconds, _connections.Select(c => c.Connect));
                Phase(samples, HttpSourceKind.TlsSeconds, _connections.Select(c => c.Handshake));

                if (status is not null)
                {
                    samples.Add(new(HttpSourceKind.TtfbSeconds, Processing.TotalSeconds));
                    samples.Add(new(HttpSourceKind.Redirects, Math.Max(0, _sent - 1)));
                }

                if (Transfer is { } transfer)
                {
                    samples.Add(new(HttpSourceKind.TransferSeconds, transfer.TotalSeconds));
                }

                if (BodyBytes is { } bytes)
                {
                    samples.Add(new(HttpSourceKind.ContentLengthBytes, bytes));
                }

                if (status is not null && _last is { Protocol: { } protocol } last)
                {
                    samples.Add(new(HttpSourceKind.TlsVersion, TlsVersions.Number(protocol)));
                    if (last.EarliestNotAfter is { } notAfter)
                    {
                        samples.Add(new(HttpSourceKind.CertExpirySeconds, (notAfter - time.GetUtcNow()).TotalSeconds));
                    }
                }
            }

            return samples;
        }

        private static void Phase(List<Sample> samples, string signal, IEnumerable<TimeSpan?> times)
        {
            var done = times.OfType<TimeSpan>().ToList();
            if (done.Count > 0)
            {
                samples.Add(new(signal, done.Sum(t => t.TotalSeconds)));
            }
        }
    }
}
