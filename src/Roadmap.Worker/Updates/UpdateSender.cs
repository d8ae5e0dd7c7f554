using System.Net.Http.Headers;
using System.Text;
using Roadmap.Core.Config;
using Roadmap.Sources;
using Roadmap.Sources.Network;

namespace Roadmap.Worker.Updates;

/// <summary>How hard an update is tried: attempts, backoff between them, and the bounds of one attempt.</summary>
/// <param name="Attempts">Tries per fire before it is given up until the next fire. Default 3.</param>
/// <param name="Backoff">The wait after the first failed attempt, doubled after each. Default 5 s (so 5 s, then 10 s).</param>
/// <param name="AttemptTimeout">One webhook request, connect to the end of the read response. Default 10 s.</param>
/// <param name="MaxResponseBytes">Of a webhook's answer read at most (the rest is not read). Default 64 KiB.</param>
public sealed record UpdateSendOptions(int Attempts, TimeSpan Backoff, TimeSpan AttemptTimeout, int MaxResponseBytes)
{
    public static readonly UpdateSendOptions Default = new(3, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), 64 * 1024);
}

/// <summary>How one fire's delivery ended.</summary>
/// <param name="Reason">Why the last attempt failed, secrets redacted; null on success.</param>
public sealed record DeliveryResult(bool Success, int Attempts, string? Reason);

/// <summary>
/// Sends an update to its destination, retrying with backoff. A webhook gets a POST of the payload through a client
/// whose every connection goes through <see cref="NetworkPolicy"/> (the deny list applies to the first request and each
/// redirect hop); redirects are followed by <see cref="RedirectPolicy"/> and only on the webhook's own host and port,
/// never elsewhere. A file is written beside its path and renamed into place, so a reader never sees half of one and a
/// FIFO or device at the path is replaced, never opened. Every reason is redacted with the update's secrets.
/// </summary>
public sealed class UpdateSender : IDisposable
{
    private readonly HttpClient _http;
    private readonly NetworkPolicy _network;
    private readonly UpdateSendOptions _options;
    private readonly TimeProvider _time;

    /// <param name="time">For the waits between attempts.</param>
    public UpdateSender(NetworkPolicy network, UpdateSendOptions options, TimeProvider time)
    {
        _network = network;
        _options = options;
        _time = time;
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            // By hand (RedirectPolicy), and only on the webhook's host: the handler would follow anywhere.
            AllowAutoRedirect = false,
            ConnectTimeout = options.AttemptTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        }.Guard(network))
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Roadmap/1.0");
    }

    /// <summary>Delivers <paramref name="body"/>; only cancellation of <paramref name="cancellationToken"/> escapes.</summary>
    public async Task<DeliveryResult> SendAsync(UpdateConfig update, string body, CancellationToken cancellationToken)
    {
        string? reason = null;
        var backoff = _options.Backoff;
        for (var attempt = 1; attempt <= _options.Attempts; attempt++)
        {
            var (ok, retry, why) = update.Url is { } url
                ? await PostAsync(url, body, cancellationToken)
                : await WriteAsync(update.File!, body, cancellationToken);
            if (ok)
            {
                return new DeliveryResult(true, attempt, null);
            }

            reason = SourceConfig.RedactWith(why, update.Secrets);
            if (!retry || attempt == _options.Attempts)
            {
                return new DeliveryResult(false, attempt, reason);
            }

            await Task.Delay(backoff, _time, cancellationToken);
            backoff *= 2;
        }

        return new DeliveryResult(false, _options.Attempts, reason);
    }

    private async Task<(bool Ok, bool Retry, string? Reason)> PostAsync(Uri url, string body, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(_options.AttemptTimeout);
        try
        {
            var end = await RedirectPolicy.SendAsync(
                () => new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")) },
                (request, ct) => SameHostAndPort(request.RequestUri!, url)
                    ? _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct)
                    : throw new RedirectElsewhereException(),
                _network.MaxRedirects,
                attempt.Token);
            using var response = end.Response;
            if (end.NotFollowed is { } notFollowed)
            {
                return (false, false, notFollowed);
            }

            var status = (int)response.StatusCode;
            var statusLine = $"HTTP {status} {response.ReasonPhrase}".TrimEnd();
            // Read (and dropped) up to the cap, so the connection can be reused; an endless answer is cut off there.
            await using var stream = await response.Content.ReadAsStreamAsync(attempt.Token);
            var buffer = new byte[8192];
            var total = 0;
            int n;
            while (total < _options.MaxResponseBytes && (n = await stream.ReadAsync(buffer, attempt.Token)) > 0)
            {
                total += n;
            }

            return status is >= 200 and < 300
                ? (true, false, null)
                : (false, status is >= 500 or 408 or 429, statusLine);
        }
        catch (RedirectElsewhereException)
        {
            return (false, false, "redirect to another host: refused (an update is only sent to its webhook's host and port)");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, true, $"timeout after {Durations.Format(_options.AttemptTimeout)}");
        }
        catch (HttpRequestException e)
        {
            var denied = NetworkErrors.FindInner<NetworkDeniedException>(e) is not null;
            return (false, !denied, NetworkErrors.Describe(e));
        }
        catch (IOException e)
        {
            return (false, true, $"request failed: {e.Message}");
        }
    }

    private static async Task<(bool Ok, bool Retry, string? Reason)> WriteAsync(string path, string body, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full) ?? ".", $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            // CreateNew after a delete: whatever stood at the temporary name (a FIFO left there) is never opened.
            TryDelete(temp);
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, useAsync: true))
            {
                await file.WriteAsync(new UTF8Encoding(false).GetBytes(body), cancellationToken);
            }

            File.Move(temp, full, overwrite: true);
            return (true, false, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            return (false, true, $"cannot write {full}: {e.Message}");
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing more to do: the next attempt writes it again.
        }
    }

    private static bool SameHostAndPort(Uri a, Uri b) =>
        string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

    public void Dispose() => _http.Dispose();

    private sealed class RedirectElsewhereException : Exception;
}
