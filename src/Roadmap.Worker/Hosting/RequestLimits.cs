using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace Roadmap.Worker.Hosting;

/// <summary>A host setting (appsettings or environment) that cannot be used; the message names the key.</summary>
public sealed class HostingConfigException(string message) : Exception(message);

/// <summary>
/// Kestrel's limits against slow and oversized requests, tighter than Kestrel's defaults because every endpoint here is
/// a small GET. Each can be overridden under <c>Kestrel:Limits</c> (appsettings.json, or environment variables such as
/// <c>Kestrel__Limits__RequestHeadersTimeout=00:00:03</c>); durations are written as <c>hh:mm:ss</c>.
/// </summary>
/// <remarks>
/// No connection waits on another's request: Kestrel serves each asynchronously and the app has no request queue, so
/// idle and slow clients cost only a connection slot (and its file descriptor) until their timeout. The cap is
/// therefore high, one client may take only half of it, and the timeouts decide how long a hostile client holds its
/// slots.
/// </remarks>
public static partial class RequestLimits
{
    /// <summary>Time a client has to send all request headers: 5 s (Kestrel: 30 s). Cuts slowloris clients off.</summary>
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Idle time before a kept-alive connection, or one that has not sent a byte yet, is closed: 30 s (Kestrel: 130 s);
    /// longer than a 15 s scrape interval.
    /// </summary>
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(30);

    /// <summary>All request headers together: 16 KiB (Kestrel: 32 KiB); larger gets 431.</summary>
    public const int MaxRequestHeadersTotalSize = 16 * 1024;

    /// <summary>Number of request headers: 50 (Kestrel: 100); more gets 431.</summary>
    public const int MaxRequestHeaderCount = 50;

    /// <summary>The request line (method, path and query): 4 KiB (Kestrel: 8 KiB); longer gets 414.</summary>
    public const int MaxRequestLineSize = 4 * 1024;

    /// <summary>A request body: 1 KiB (Kestrel: ~28.6 MB). Every endpoint is a GET; larger gets 413.</summary>
    public const long MaxRequestBodySize = 1024;

    /// <summary>
    /// Open connections at once: 4,096 (Kestrel: unlimited), or the open-file limit less
    /// <see cref="ReservedFileDescriptors"/> when that is lower (at least <see cref="MinConcurrentConnections"/>).
    /// Prometheus, Grafana and a few browsers need a handful; the rest is room for idle and slow clients, so that they
    /// do not lock the probes out (200 idle connections did). Each costs a file descriptor and about 30 KiB (1,200 idle
    /// and slow-header connections added 37 MB of RSS). A connection past the cap is closed at once, so the cap must
    /// stay below the open-file limit: past that, accepting fails instead.
    /// </summary>
    public const long MaxConcurrentConnections = 4096;

    /// <summary>File descriptors kept for the database, the sources' connections and the runtime: 1,024.</summary>
    public const long ReservedFileDescriptors = 1024;

    /// <summary>The connection cap however low the open-file limit: 256.</summary>
    public const long MinConcurrentConnections = 256;

    /// <summary>A body slower than 240 bytes/s after a 5 s grace period is cut off (Kestrel's own default, kept explicit).</summary>
    public const double MinRequestBodyBytesPerSecond = 240;

    /// <summary>See <see cref="MinRequestBodyBytesPerSecond"/>.</summary>
    public static readonly TimeSpan MinRequestBodyGracePeriod = TimeSpan.FromSeconds(5);

    private static readonly string[] Keys =
    [
        "RequestHeadersTimeout", "KeepAliveTimeout", "MaxRequestHeadersTotalSize", "MaxRequestHeaderCount",
        "MaxRequestLineSize", "MaxRequestBodySize", "MaxConcurrentConnections", "MaxConcurrentConnectionsPerClient",
        "MinRequestBodyDataRate",
    ];

    /// <summary>
    /// Sets the defaults above on <paramref name="limits"/>, then any override from <paramref name="section"/>
    /// (<c>Kestrel:Limits</c>). The default connection cap reads the open-file limit, raising it first (see <see cref="OpenFileLimit"/>).
    /// </summary>
    /// <exception cref="HostingConfigException">An unknown key or a value that is not a valid limit.</exception>
    public static void Apply(KestrelServerLimits limits, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(section);
        limits.RequestHeadersTimeout = Duration(section, "RequestHeadersTimeout") ?? RequestHeadersTimeout;
        limits.KeepAliveTimeout = Duration(section, "KeepAliveTimeout") ?? KeepAliveTimeout;
        limits.MaxRequestHeadersTotalSize = (int)(Count(section, "MaxRequestHeadersTotalSize", int.MaxValue) ?? MaxRequestHeadersTotalSize);
        limits.MaxRequestHeaderCount = (int)(Count(section, "MaxRequestHeaderCount", int.MaxValue) ?? MaxRequestHeaderCount);
        limits.MaxRequestLineSize = (int)(Count(section, "MaxRequestLineSize", int.MaxValue) ?? MaxRequestLineSize);
        limits.MaxRequestBodySize = Count(section, "MaxRequestBodySize", long.MaxValue) ?? MaxRequestBodySize;
        // Raised whether or not the cap is configured: a configured cap needs the descriptors as much.
        var openFiles = OpenFileLimit();
        limits.MaxConcurrentConnections = Count(section, "MaxConcurrentConnections", long.MaxValue) ?? DefaultConnectionCap(openFiles);

        var rate = section.GetSection("MinRequestBodyDataRate");
        foreach (var child in rate.GetChildren().Where(c => c.Key is not ("BytesPerSecond" or "GracePeriod")))
        {
            throw new HostingConfigException($"{child.Path}: unknown key (known keys here: BytesPerSecond, GracePeriod)");
        }

        var bytesPerSecond = rate["BytesPerSecond"] is { } b ? Number(rate, "BytesPerSecond", b) : MinRequestBodyBytesPerSecond;
        var grace = Duration(rate, "GracePeriod") ?? MinRequestBodyGracePeriod;
        limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond, grace);

        foreach (var child in section.GetChildren().Where(c => !Keys.Contains(c.Key, StringComparer.OrdinalIgnoreCase)))
        {
            throw new HostingConfigException($"{child.Path}: unknown key (known keys here: {string.Join(", ", Keys)})");
        }
    }

    /// <summary>
    /// Answers 413 to a request whose body is larger than Kestrel's <c>MaxRequestBodySize</c>. Kestrel itself enforces the
    /// limit only when an endpoint reads the body, and no endpoint here does, so without this a large body would be
    /// accepted (and drained) in silence.
    /// </summary>
    public static IApplicationBuilder UseRequestBodyLimit(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var max = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        var request = context.Request;
        if (max is { } cap && request.ContentLength is { } length && length > cap)
        {
            Reject(context);
            return;
        }

        if (max is not null && request.ContentLength is null && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            // A chunked body has no declared length: read it here, where Kestrel counts it against the limit.
            try
            {
                await request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            }
            catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                Reject(context);
                return;
            }
        }

        await next(context);

        static void Reject(HttpContext context)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            // The rest of the body is not worth reading: close the connection instead of draining it.
            context.Response.Headers.Connection = "close";
            context.Response.ContentLength = 0;
        }
    });

    /// <summary>
    /// Open connections from one client (remote address; IPv6 per /64) at once: <c>MaxConcurrentConnectionsPerClient</c>
    /// in <paramref name="section"/> (<c>Kestrel:Limits</c>), by default half of <paramref name="connectionCap"/> (2,048
    /// of 4,096), so that one client cannot take every slot; its further connections are closed at once. Not one of
    /// Kestrel's own limits: see <see cref="UsePerClientConnectionLimit"/>.
    /// </summary>
    /// <exception cref="HostingConfigException">A value that is not a whole number from 1 up.</exception>
    public static long PerClientConnectionCap(IConfigurationSection section, long connectionCap)
    {
        ArgumentNullException.ThrowIfNull(section);
        return Count(section, "MaxConcurrentConnectionsPerClient", long.MaxValue) ?? Math.Max(1, connectionCap / 2);
    }

    /// <summary>
    /// Closes a connection at once when its client already has <paramref name="cap"/> open on any endpoint that shares
    /// <paramref name="counter"/>; Kestrel's own cap counts all clients together.
    /// </summary>
    public static ListenOptions UsePerClientConnectionLimit(this ListenOptions listen, ClientConnectionCounter counter, long cap)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(counter);
        listen.Use(next => async connection =>
        {
            var client = Endpoints.BcryptLimiter.ClientKey((connection.RemoteEndPoint as System.Net.IPEndPoint)?.Address);
            if (!counter.TryAdd(client, cap))
            {
                // As Kestrel does past its own cap: returning without serving closes the connection.
                return;
            }

            try
            {
                await next(connection);
            }
            finally
            {
                counter.Remove(client);
            }
        });
        return listen;
    }

    /// <summary>The connection cap when none is configured, for a process allowed <paramref name="openFiles"/> descriptors (null: unknown).</summary>
    public static long DefaultConnectionCap(long? openFiles) =>
        openFiles is { } limit ? Math.Clamp(limit - ReservedFileDescriptors, MinConcurrentConnections, MaxConcurrentConnections) : MaxConcurrentConnections;

    /// <summary>
    /// The process's open-file limit (the soft <c>RLIMIT_NOFILE</c>, <c>ulimit -n</c>), first raised to the hard limit
    /// as the .NET runtime does at start (the native build does not: dotnet/runtime#82719); null where unknown.
    /// </summary>
    public static long? OpenFileLimit()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            if (GetRLimit(NoFile, out var limit) != 0)
            {
                return null;
            }

            if (limit.Current < limit.Maximum && SetRLimit(NoFile, limit with { Current = limit.Maximum }) == 0)
            {
                limit = limit with { Current = limit.Maximum };
            }

            return limit.Current >= long.MaxValue ? long.MaxValue : (long)limit.Current;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private const int NoFile = 7; // RLIMIT_NOFILE on Linux (x64 and arm64)

    [StructLayout(LayoutKind.Sequential)]
    private record struct RLimit(ulong Current, ulong Maximum);

    [LibraryImport("libc", EntryPoint = "getrlimit")]
    private static partial int GetRLimit(int resource, out RLimit limit);

    [LibraryImport("libc", EntryPoint = "setrlimit")]
    private static partial int SetRLimit(int resource, in RLimit limit);

    private static TimeSpan? Duration(IConfigurationSection section, string key)
    {
        if (section[key] is not { } text)
        {
            return null;
        }

        if (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value) || value <= TimeSpan.Zero)
        {
            throw new HostingConfigException($"{section.Path}:{key}: bad duration \"{text}\": expected a positive hh:mm:ss, e.g. 00:00:10");
        }

        return value;
    }

    private static long? Count(IConfigurationSection section, string key, long max)
    {
        if (section[key] is not { } text)
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0 || value > max)
        {
            throw new HostingConfigException($"{section.Path}:{key}: bad number \"{text}\": expected a whole number from 1 to {max}");
        }

        return value;
    }

    private static double Number(IConfigurationSection section, string key, string text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value) || value <= 0)
        {
            throw new HostingConfigException($"{section.Path}:{key}: bad number \"{text}\": expected a positive number of bytes per second");
        }

        return value;
    }
}

/// <summary>Open connections per client, for <see cref="RequestLimits.UsePerClientConnectionLimit"/>.</summary>
public sealed class ClientConnectionCounter
{
    private readonly Dictionary<string, long> _open = new(StringComparer.Ordinal);

    /// <summary>Clients with a connection open now (for tests).</summary>
    internal int ClientCount
    {
        get
        {
            lock (_open)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>Counts one more connection of <paramref name="client"/>, unless it has <paramref name="cap"/> already.</summary>
    public bool TryAdd(string client, long cap)
    {
        lock (_open)
        {
            var open = _open.GetValueOrDefault(client);
            if (open >= cap)
            {
                return false;
            }

            _open[client] = open + 1;
            return true;
        }
    }

    /// <summary>Counts one connection of <paramref name="client"/> closed; a client with none left is forgotten.</summary>
    public void Remove(string client)
    {
        lock (_open)
        {
            if (_open.TryGetValue(client, out var open))
            {
                if (open <= 1)
                {
                    _open.Remove(client);
                }
                else
                {
                    _open[client] = open - 1;
                }
            }
        }
    }
}
