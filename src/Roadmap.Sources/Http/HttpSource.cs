using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Roadmap.Core.Config;
using Roadmap.Sources.Network;

namespace Roadmap.Sources.Http;

/// <summary>One http probe target. See <see cref="HttpSourceKind"/>.</summary>
public sealed class HttpSource : ISource
{
    // The probe a request belongs to, for the connect callback of the source's one handler: the callback sees only the
    // request that asked for the connection.
    private static readonly HttpRequestOptionsKey<Trip> TripKey = new("Roadmap.HttpSource.Trip");

    private readonly SourceConfig _config;
    private readonly SourceContext _context;
    private readonly HttpProbeOptions _options;
    private readonly TlsClient _tls;
    // Only with keepAlive: the pool that keeps the connection between probes.
    private readonly HttpMessageInvoker? _client;
    private readonly List<System.Net.Security.SslApplicationProtocol> _protocols = TracedConnect.Http11;
    private readonly HttpMethod _method;
    private readonly Func<HttpRequestMessage> _request;

    // The first hop's request as it goes on the wire, the same for every probe: made once.
    private byte[]? _firstRequest;

    // With keepAlive, the connection the last answer came over: a probe on a kept connection opens none, and takes
    // its TLS version and certificate expiry from this one.
    private volatile ConnectionTrace? _kept;

    public HttpSource(SourceConfig config, SourceContext context)
    {
        _config = config;
        _context = context;
        _options = (HttpProbeOptions)config.Options;
        _method = HttpMethod.Parse(_options.Method);
        _request = Request;
        _tls = new(_options.Tls ?? TlsSettings.Default, config.Id, context.Logs.CreateLogger(typeof(TlsClient).FullName!), context.Time);

        // Without keepAlive (the default) a probe opens a fresh connection, sends its request with Connection: close and
        // reads the answer on its own task (Http11Exchange), as blackbox_exporter does; the connect goes through the
        // network policy, so the first request and every redirect hop connect only to addresses it allows, and the TLS
        // handshake is ours (TracedConnect): timed, its certificates seen, the tls block applied to every https hop.
        if (_options.KeepAlive)
        {
            // With keepAlive a pooling handler keeps the connection for the next probe: one handler for the source's
            // life, its connect step the same traced one. Proxies and cookies would make the probe measure something
            // else.
            var handler = new SocketsHttpHandler
            {
                UseProxy = false,
                UseCookies = false,
                AllowAutoRedirect = false,
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                PooledConnectionIdleTimeout = KeepIdle(config.Schedule),
                // No connect timeout of the handler's own: the probe's timeout covers the connect. When it cancels the
                // request, the pool cancels the connection attempt it started for it, as a cancellation; a handler
                // timeout shorter than that delay fired instead and built a timeout exception with a formatted stack
                // trace for every probe of a target that does not answer.
                ConnectTimeout = Timeout.InfiniteTimeSpan,
                ConnectCallback = ConnectAsync,
            };

            // An invoker, not an HttpClient: the probe has its own timeout, and HttpClient would add a linked token
            // source and pending-request bookkeeping per call.
            _client = new HttpMessageInvoker(handler, disposeHandler: true);
        }
    }

    public SourceConfig Config => _config;

    public string? Target => SourceTarget.Of(_options.Url, _config);

    public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var config = _config;
        var time = _context.Time;
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(config.Timeout, time);
        // The linked pair only when the caller can cancel at all.
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token) : null;
        var token = linked?.Token ?? timeout.Token;

        var trip = new Trip(this, _options.KeepAlive ? _kept : null);

        int? status = null;
        try
        {
            var end = await RedirectPolicy.SendAsync(_request, trip.SendAsync, _context.Network.MaxRedirects, token);
            using var response = end.Response;
            status = (int)response.StatusCode;
            if (_options.KeepAlive)
            {
                _kept = trip.Last;
            }
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

            // The samples already taken, now up: taking them again would redo the phase sums.
            samples[0] = new(HttpSourceKind.Up, 1);
            return PollResult.Ok(samples, latency);
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

    public ValueTask DisposeAsync()
    {
        _client?.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// How long a kept-alive connection may wait idle in the pool: two intervals, at least a minute (the handler's
    /// default), so a source polling every few minutes still finds its connection. Without keepAlive nothing is pooled.
    /// </summary>
    private static TimeSpan KeepIdle(PollSchedule schedule) =>
        schedule.Every is { } every && every * 2 > TimeSpan.FromMinutes(1) ? every * 2 : TimeSpan.FromMinutes(1);

    /// <summary>
    /// The handler's connect step: through the network policy, with our TLS for https, traced into the probe whose
    /// request (first request or redirect hop) asked for the connection.
    /// </summary>
    private ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var trace = new ConnectionTrace();
        var request = context.InitialRequestMessage;
        if (request.Options.TryGetValue(TripKey, out var trip))
        {
            trip.Connected(trace);
        }

        var https = request.RequestUri?.Scheme == Uri.UriSchemeHttps;
        return TracedConnect.ConnectAsync(_context.Network, _context.Time, context.DnsEndPoint, https ? _tls : null, trace, _protocols, cancellationToken);
    }

    /// <summary>The request as configured; each redirect hop starts from a new one (<see cref="RedirectPolicy"/>).</summary>
    private HttpRequestMessage Request()
    {
        var request = new HttpRequestMessage(_method, _options.Url);
        request.Headers.ConnectionClose = !_options.KeepAlive;
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
    private sealed class Trip(HttpSource source, ConnectionTrace? kept)
    {
        private readonly TimeProvider _time = source._context.Time;
        private readonly Lock _gate = new();
        private readonly List<ConnectionTrace> _connections = [];
        private ConnectionTrace? _last = kept;
        private int _sent;

        public TimeSpan Processing { get; private set; }

        /// <summary>The connection the last answer came over (a kept one when none was opened); null before any answer.</summary>
        public ConnectionTrace? Last
        {
            get
            {
                lock (_gate)
                {
                    return _last;
                }
            }
        }

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

        /// <summary>Sends one hop of the probe over a connection of its own, or with keepAlive through the pool.</summary>
        public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) =>
            source._client is { } client ? SendPooledAsync(client, request, ct) : ExchangeAsync(request, ct);

        /// <summary>
        /// One hop on a fresh connection: connected (and traced) here, then one request and its answer; disposing the
        /// response closes the connection. Connect failures come out as the handler's did, wrapped in an
        /// <see cref="HttpRequestException"/>, so <see cref="NetworkErrors"/> words them the same.
        /// </summary>
        private async Task<HttpResponseMessage> ExchangeAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var bytes = _sent == 0 ? source._firstRequest ??= await Http11Exchange.SerializeAsync(request, ct) : await Http11Exchange.SerializeAsync(request, ct);
            _sent++;
            var uri = request.RequestUri!;
            var trace = new ConnectionTrace();
            Connected(trace);
            var sent = _time.GetTimestamp();
            Stream connection;
            try
            {
                // An IPv6 literal without its brackets, as a resolver takes it; a name in its ASCII (IDN) form.
                var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.DnsSafeHost : uri.IdnHost;
                var https = uri.Scheme == Uri.UriSchemeHttps;
                connection = await TracedConnect.ConnectAsync(source._context.Network, _time, new DnsEndPoint(host, uri.Port), https ? source._tls : null, trace, source._protocols, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new HttpRequestException(HttpRequestError.ConnectionError, e.Message, e);
            }

            HttpResponseMessage response;
            try
            {
                response = await Http11Exchange.SendAsync(connection, bytes, request.Method, ct);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }

            var answered = _time.GetTimestamp();
            lock (_gate)
            {
                _last = trace;
                Processing += _time.GetElapsedTime(Math.Max(trace.ReadyAt, sent), answered);
            }

            return response;
        }

        /// <summary>Sends one hop through the keepAlive pool, marked as this trip's so a connection it opens is traced here.</summary>
        private async Task<HttpResponseMessage> SendPooledAsync(HttpMessageInvoker client, HttpRequestMessage request, CancellationToken ct)
        {
            request.Options.Set(TripKey, this);
            int before;
            lock (_gate)
            {
                before = _connections.Count;
            }

            var sent = _time.GetTimestamp();
            _sent++;
            var response = await client.SendAsync(request, ct);
            var answered = _time.GetTimestamp();
            lock (_gate)
            {
                _last = _connections.Count > before ? _connections[^1] : _last;
                var ready = _connections.Count > before ? Math.Max(_connections[^1].ReadyAt, sent) : sent;
                Processing += _time.GetElapsedTime(ready, answered);
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
                Phase(samples, HttpSourceKind.DnsSeconds, static c => c.Resolve);
                Phase(samples, HttpSourceKind.ConnectSeconds, static c => c.Connect);
                Phase(samples, HttpSourceKind.TlsSeconds, static c => c.Handshake);

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
                        samples.Add(new(HttpSourceKind.CertExpirySeconds, (notAfter - _time.GetUtcNow()).TotalSeconds));
                    }
                }
            }

            return samples;
        }

        /// <summary>The sum of one phase over the connections where it completed; nothing when it completed on none.</summary>
        private void Phase(List<Sample> samples, string signal, Func<ConnectionTrace, TimeSpan?> phase)
        {
            var sum = 0.0;
            var done = false;
            foreach (var connection in _connections)
            {
                if (phase(connection) is { } t)
                {
                    sum += t.TotalSeconds;
                    done = true;
                }
            }

            if (done)
            {
                samples.Add(new(signal, sum));
            }
        }
    }
}
