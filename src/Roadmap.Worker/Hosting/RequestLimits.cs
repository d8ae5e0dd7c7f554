using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace Roadmap.Worker.Hosting;

/// <summary>A host setting (appsettings or environment) that cannot be used; the message names the key.</summary>
public sealed class HostingConfigException(string message) : Exception(message);

/// <summary>
/// Kestrel's limits against slow and oversized requests, tighter than Kestrel's defaults because every endpoint here is
/// a small GET. Each can be overridden under <c>Kestrel:Limits</c> (appsettings.json, or environment variables such as
/// <c>Kestrel__Limits__RequestHeadersTimeout=00:00:05</c>); durations are written as <c>hh:mm:ss</c>.
/// </summary>
public static class RequestLimits
{
    /// <summary>Time a client has to send all request headers: 10 s (Kestrel: 30 s). Cuts slowloris clients off.</summary>
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Idle time before a kept-alive connection is closed: 30 s (Kestrel: 130 s); longer than a 15 s scrape interval.</summary>
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(30);

    /// <summary>All request headers together: 16 KiB (Kestrel: 32 KiB); larger gets 431.</summary>
    public const int MaxRequestHeadersTotalSize = 16 * 1024;

    /// <summary>Number of request headers: 50 (Kestrel: 100); more gets 431.</summary>
    public const int MaxRequestHeaderCount = 50;

    /// <summary>The request line (method, path and query): 4 KiB (Kestrel: 8 KiB); longer gets 414.</summary>
    public const int MaxRequestLineSize = 4 * 1024;

    /// <summary>A request body: 1 KiB (Kestrel: ~28.6 MB). Every endpoint is a GET; larger gets 413.</summary>
    public const long MaxRequestBodySize = 1024;

    /// <summary>Open connections at once: 200 (Kestrel: unlimited). Prometheus, Grafana and a few browsers need far fewer.</summary>
    public const long MaxConcurrentConnections = 200;

    /// <summary>A body slower than 240 bytes/s after a 5 s grace period is cut off (Kestrel's own default, kept explicit).</summary>
    public const double MinRequestBodyBytesPerSecond = 240;

    /// <summary>See <see cref="MinRequestBodyBytesPerSecond"/>.</summary>
    public static readonly TimeSpan MinRequestBodyGracePeriod = TimeSpan.FromSeconds(5);

    private static readonly string[] Keys =
    [
        "RequestHeadersTimeout", "KeepAliveTimeout", "MaxRequestHeadersTotalSize", "MaxRequestHeaderCount",
        "MaxRequestLineSize", "MaxRequestBodySize", "MaxConcurrentConnections", "MinRequestBodyDataRate",
    ];

    /// <summary>Sets the defaults above on <paramref name="limits"/>, then any override from <paramref name="section"/> (<c>Kestrel:Limits</c>).</summary>
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
        limits.MaxConcurrentConnections = Count(section, "MaxConcurrentConnections", long.MaxValue) ?? MaxConcurrentConnections;

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
