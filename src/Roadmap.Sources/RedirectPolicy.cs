namespace Roadmap.Sources;

/// <summary>
/// How every HTTP-based kind (http, prometheus, json, github, gitlab, jira) follows redirects — by hand, never by the
/// handler, whose rules forward every header but <c>Authorization</c> to whatever host a redirect names:
/// <list type="bullet">
/// <item>300, 301, 302, 303, 307 and 308 with a <c>Location</c> are followed, at most <c>maxRedirects</c>
/// (<c>settings.network.maxRedirects</c>) per request; each hop is a new request through the same client, so its
/// connect goes through the network policy like the first.</item>
/// <item>Only to <c>http:</c> and <c>https:</c>, and never from https to http; a <c>Location</c> that is no URL is
/// refused too. A refusal names the scheme at most, never the <c>Location</c> (it may carry credentials).</item>
/// <item>The method as the handler rewrote it: 303 makes any method but HEAD a GET, 300/301/302 make a POST a GET,
/// both without a body; 307 and 308 keep method and body.</item>
/// <item>The configured origin (scheme, host and port of the first request) gets every header at every hop; another
/// origin gets only <see cref="CrossOriginHeaders"/>. Every other header — <c>Authorization</c>, <c>Cookie</c>,
/// <c>Proxy-Authorization</c> and every header a config sets (<c>X-Api-Key</c>, <c>PRIVATE-TOKEN</c>, ...) — counts as
/// a credential and is dropped. Content headers travel with a 307/308's body.</item>
/// </list>
/// </summary>
public static class RedirectPolicy
{
    /// <summary>The headers a hop to another origin keeps: what we accept, who we are, and the probe's <c>Connection: close</c>.</summary>
    public static IReadOnlyList<string> CrossOriginHeaders { get; } = ["Accept", "User-Agent", "Connection"];

    /// <summary>
    /// Sends the request <paramref name="build"/> makes (called once per hop) through <paramref name="send"/>, following
    /// redirects by the rules above. The caller owns the response, which is at its headers (the body unread).
    /// </summary>
    /// <param name="build">Makes the request as configured: method, URL, headers, body. Each hop starts from a new one.</param>
    /// <param name="send">Sends one request and returns at the response's headers.</param>
    /// <param name="maxRedirects">Redirects followed at most; 0: none.</param>
    public static async Task<RedirectEnd> SendAsync(
        Func<HttpRequestMessage> build,
        Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send,
        int maxRedirects,
        CancellationToken cancellationToken)
    {
        using var first = build();
        var origin = first.RequestUri!;
        var at = origin;
        var forcedGet = false;
        var response = await send(first, cancellationToken);
        for (var hops = 0; IsRedirect(response); hops++)
        {
            var status = (int)response.StatusCode;
            var statusLine = $"HTTP {status} {response.ReasonPhrase}".TrimEnd();
            if (hops >= maxRedirects)
            {
                return new RedirectEnd(response, maxRedirects == 0
                    ? $"{statusLine}: redirects are not followed (settings.network.maxRedirects is 0)"
                    : $"too many redirects: more than {maxRedirects} (settings.network.maxRedirects), the last answer was {statusLine}", Refused: false);
            }

            if (Refusal(response, at, out var target) is { } refused)
            {
                return new RedirectEnd(response, $"{statusLine}: {refused}", Refused: true);
            }

            response.Dispose();
            var next = build();
            // Once rewritten to GET, every later hop stays a GET without a body, as the handler's one request did.
            forcedGet |= ForcesGet(status, forcedGet ? HttpMethod.Get : next.Method);
            if (forcedGet)
            {
                next.Method = HttpMethod.Get;
                next.Content?.Dispose();
                next.Content = null;
            }

            if (!SameOrigin(target, origin))
            {
                next = WithoutCredentials(next);
            }

            next.RequestUri = target;
            at = target;
            using (next)
            {
                response = await send(next, cancellationToken);
            }
        }

        return new RedirectEnd(response, null, Refused: false);
    }

    private static bool IsRedirect(HttpResponseMessage response) =>
        (int)response.StatusCode is 300 or 301 or 302 or 303 or 307 or 308
        && (response.Headers.Location is not null || response.Headers.NonValidated.Contains("Location"));

    /// <summary>Why the redirect <paramref name="response"/> (to a request for <paramref name="from"/>) is refused; null when it is followed to <paramref name="target"/>.</summary>
    private static string? Refusal(HttpResponseMessage response, Uri from, out Uri target)
    {
        // A Location that does not parse as a URI is not in the typed header (it stays among the raw values).
        if (response.Headers.Location is not { } location || !Uri.TryCreate(from, location, out var to) || !to.IsAbsoluteUri)
        {
            target = from;
            return "malformed Location header: redirect refused";
        }

        target = to;
        if (to.Scheme != Uri.UriSchemeHttp && to.Scheme != Uri.UriSchemeHttps)
        {
            return $"redirect to unsupported scheme {ServerText.Shorten(to.Scheme, 20)}: refused";
        }

        if (from.Scheme == Uri.UriSchemeHttps && to.Scheme == Uri.UriSchemeHttp)
        {
            return "redirect from https to http: refused";
        }

        return to.Host.Length == 0 ? "malformed Location header: redirect refused" : null;
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        Uri.Compare(a, b, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    /// <summary>The handler's rewrite: 303 makes any method but GET and HEAD a GET; 300/301/302 a POST.</summary>
    private static bool ForcesGet(int status, HttpMethod method) => status switch
    {
        303 => method != HttpMethod.Get && method != HttpMethod.Head,
        300 or 301 or 302 => method == HttpMethod.Post,
        _ => false,
    };

    /// <summary>A copy of <paramref name="request"/> with only <see cref="CrossOriginHeaders"/> and the body.</summary>
    private static HttpRequestMessage WithoutCredentials(HttpRequestMessage request)
    {
        var bare = new HttpRequestMessage(request.Method, request.RequestUri) { Content = request.Content, Version = request.Version };
        foreach (var name in CrossOriginHeaders)
        {
            if (request.Headers.NonValidated.TryGetValues(name, out var values))
            {
                bare.Headers.TryAddWithoutValidation(name, values);
            }
        }

        request.Content = null;
        request.Dispose();
        return bare;
    }
}

/// <summary>The last response of a redirect chain, and why its redirect was not followed.</summary>
/// <param name="Response">The last response; the caller disposes it.</param>
/// <param name="NotFollowed">Why <paramref name="Response"/>, a redirect, was not followed; null when it is no redirect.</param>
/// <param name="Refused">True when the redirect was refused (its scheme, a downgrade, a malformed Location): the request
/// failed. False when it only went past <c>maxRedirects</c>: the redirect is the answer.</param>
public sealed record RedirectEnd(HttpResponseMessage Response, string? NotFollowed, bool Refused);
