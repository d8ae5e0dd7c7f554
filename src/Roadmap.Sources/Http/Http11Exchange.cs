using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Roadmap.Sources.Http;

/// <summary>
/// One HTTP/1.1 request and its response over a connection used for nothing else: the http kind's probe when it opens
/// a fresh connection per probe (the default). <see cref="SocketsHttpHandler"/> did the same exchange through its
/// connection pool: a pool entry, a connection task of its own and a waiter per probe, every hand-off between them a
/// wake-up of another thread, which on this kind of machine cost more than the probe itself. Here the probe's own
/// task connects, writes and reads; a completion of the socket is the only hand-off.
/// <para>
/// What it speaks: a request line, the request's headers and its (buffered) content; a response of HTTP/1.0 or 1.1
/// whose body is framed by <c>Transfer-Encoding: chunked</c>, <c>Content-Length</c> or the end of the connection, as
/// RFC 9112 section 6.3 orders them. Interim 1xx answers (but 101) are skipped. The response carries the status, the
/// reason phrase and the <c>Location</c> header (all a probe reads); its content reads the body off the connection,
/// and disposing the response closes the connection.
/// </para>
/// <para>
/// Bounds, for a hostile or broken server: a response head (status line and headers) of at most
/// <see cref="MaxHeadBytes"/>, a chunk-size or trailer line of at most <see cref="MaxLineBytes"/>, trailers of at most
/// <see cref="MaxHeadBytes"/>; anything past them fails as an invalid response. The body is read as far as its reader
/// asks (the probe stops at its cap), and every read honours the probe's cancellation, so a server that drips or never
/// ends costs the probe's timeout at most.
/// </para>
/// </summary>
internal static class Http11Exchange
{
    /// <summary>The most a response head may take: 64 KiB, the limit <see cref="SocketsHttpHandler"/> applies by default.</summary>
    public const int MaxHeadBytes = 64 * 1024;

    /// <summary>The most interim (1xx) answers skipped before the final one.</summary>
    public const int MaxInterimAnswers = 16;

    /// <summary>The most a chunk-size line or one trailer line may take.</summary>
    public const int MaxLineBytes = 4 * 1024;

    // The methods sent without a Content-Length when they have no content (SocketsHttpHandler's rule).
    private static readonly HashSet<string> BodilessMethods = new(StringComparer.OrdinalIgnoreCase) { "GET", "HEAD", "CONNECT", "OPTIONS", "DELETE" };

    // At least MaxLineBytes: a chunk-size line is read within this buffer.
    private const int FirstBufferBytes = MaxLineBytes;

    /// <summary>
    /// The request's head and content as they go on the wire: request line, <c>Host</c> (unless the request sets one),
    /// its headers and content headers, a <c>Content-Length</c> when it has content or its method carries a body.
    /// Throws <see cref="HttpRequestException"/> when a header name or value would break the head (a line break) or is
    /// not ASCII.
    /// </summary>
    public static async Task<byte[]> SerializeAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        var body = request.Content is { } content ? await content.ReadAsByteArrayAsync(cancellationToken) : null;
        var head = new StringBuilder(256);
        head.Append(request.Method.Method).Append(' ').Append(uri.PathAndQuery).Append(" HTTP/1.1\r\n");
        if (!request.Headers.NonValidated.Contains("Host"))
        {
            // An IPv6 literal as Uri.Host gives it: in brackets, without a zone (RFC 6874: the zone is not sent).
            var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host : uri.IdnHost;
            head.Append("Host: ").Append(host);
            if (!uri.IsDefaultPort)
            {
                head.Append(':').Append(uri.Port);
            }

            head.Append("\r\n");
        }

        Headers(head, request.Headers.NonValidated);
        if (request.Content is { } withHeaders)
        {
            Headers(head, withHeaders.Headers.NonValidated);
        }

        // As SocketsHttpHandler does: a length with content, and a zero length for every method that may carry a body.
        if (body is not null || !BodilessMethods.Contains(request.Method.Method))
        {
            head.Append("Content-Length: ").Append(body?.Length ?? 0).Append("\r\n");
        }

        head.Append("\r\n");
        var bytes = new byte[head.Length + (body?.Length ?? 0)];
        var written = Encoding.ASCII.GetBytes(head.ToString(), bytes);
        body?.CopyTo(bytes, written);
        return bytes;
    }

    /// <summary>
    /// Writes <paramref name="request"/> (as <see cref="SerializeAsync"/> made it) on <paramref name="connection"/>
    /// and reads the response up to its headers. The response owns the connection from then on; when this throws, the
    /// caller still does. Throws <see cref="HttpRequestException"/> for what the server answered wrong (with
    /// <see cref="HttpRequestError.ResponseEnded"/> when it closed before a whole head, <see cref="HttpRequestError.InvalidResponse"/>
    /// for what is not HTTP), or when the connection failed (the <see cref="IOException"/> inside).
    /// </summary>
    public static async Task<HttpResponseMessage> SendAsync(Stream connection, ReadOnlyMemory<byte> request, HttpMethod method, CancellationToken cancellationToken)
    {
        try
        {
            await connection.WriteAsync(request, cancellationToken);
        }
        catch (IOException e)
        {
            throw new HttpRequestException(HttpRequestError.Unknown, "error while sending the request: " + e.Message, e);
        }

        var buffer = ArrayPool<byte>.Shared.Rent(FirstBufferBytes);
        try
        {
            var filled = 0;
            var scanned = 0;
            var statusScanned = 0;
            var statusChecked = false;
            var interim = 0;
            while (true)
            {
                if (!statusChecked && Array.IndexOf(buffer, (byte)'\n', statusScanned, filled - statusScanned) is var lineEnd and >= 0)
                {
                    // The status line is checked as soon as it is whole: a server that answers something else fails
                    // now, not after a blank line it may never send.
                    ResponseHead.ParseStatusLine(buffer.AsSpan(0, lineEnd + 1), out _, out _);
                    statusChecked = true;
                }

                statusScanned = filled;
                if (HeadEnd(buffer, scanned, filled) is var length and >= 0)
                {
                    var head = ResponseHead.Parse(buffer.AsSpan(0, length));
                    if (head.Status is >= 100 and < 200 and not 101)
                    {
                        // An interim answer (100 Continue, 103 Early Hints): the final one follows on the connection.
                        // A few at most: a server that sends them without end would keep the probe copying until its
                        // timeout.
                        if (++interim > MaxInterimAnswers)
                        {
                            throw Invalid($"more than {MaxInterimAnswers} interim (1xx) answers");
                        }

                        filled -= length;
                        Buffer.BlockCopy(buffer, length, buffer, 0, filled);
                        scanned = statusScanned = 0;
                        statusChecked = false;
                        continue;
                    }

                    var framing = head.Framing(method);
                    var body = new Http11Body(connection, buffer, length, filled, framing.Kind, framing.Length);
                    buffer = null;
                    var response = new HttpResponseMessage((HttpStatusCode)head.Status) { Version = head.Version, Content = new StreamContent(body) };
                    if (head.Reason is { } reason)
                    {
                        response.ReasonPhrase = reason;
                    }

                    if (head.Location is { } location)
                    {
                        response.Headers.TryAddWithoutValidation("Location", location);
                    }

                    return response;
                }

                scanned = Math.Max(0, filled - 3);
                if (filled >= Math.Min(buffer.Length, MaxHeadBytes))
                {
                    if (filled >= MaxHeadBytes)
                    {
                        throw new HttpRequestException(HttpRequestError.ConfigurationLimitExceeded, $"the response head is over {MaxHeadBytes / 1024} KiB");
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 4, MaxHeadBytes));
                    Buffer.BlockCopy(buffer, 0, larger, 0, filled);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var n = await connection.ReadAsync(buffer.AsMemory(filled, Math.Min(buffer.Length, MaxHeadBytes) - filled), cancellationToken);
                if (n == 0)
                {
                    throw new HttpRequestException(HttpRequestError.ResponseEnded, filled == 0
                        ? "the server closed the connection without a response"
                        : "the server closed the connection in the middle of the response head");
                }

                filled += n;
            }
        }
        catch (IOException e)
        {
            throw new HttpRequestException(HttpRequestError.Unknown, "error while reading the response: " + e.Message, e);
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private static void Headers(StringBuilder head, HttpHeadersNonValidated headers)
    {
        foreach (var (name, values) in headers)
        {
            // The framing is the client's: the content's length is written below, and the body is never chunked.
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            Check(name, name);
            head.Append(name).Append(": ");
            // User-Agent's products are separated by spaces, every other list by commas.
            var separator = name.Equals("User-Agent", StringComparison.OrdinalIgnoreCase) ? " " : ", ";
            var first = true;
            foreach (var value in values)
            {
                Check(name, value);
                head.Append(first ? "" : separator).Append(value);
                first = false;
            }

            head.Append("\r\n");
        }
    }

    private static void Check(string name, string text)
    {
        foreach (var c in text)
        {
            if (c is '\r' or '\n' or '\0')
            {
                throw new HttpRequestException($"the request header {name} has a line break or NUL in it: not sent");
            }

            if (c > 127)
            {
                throw new HttpRequestException($"the request header {name} has a character that is not ASCII in it: not sent");
            }
        }
    }

    /// <summary>The index just past the blank line ending a head (CRLF CRLF, or bare LFs), searching from <paramref name="from"/>; -1 when there is none yet.</summary>
    private static int HeadEnd(byte[] buffer, int from, int filled)
    {
        for (var i = Array.IndexOf(buffer, (byte)'\n', from, filled - from); i >= 0 && i < filled; i = Array.IndexOf(buffer, (byte)'\n', i + 1, filled - i - 1))
        {
            // A line feed followed by an empty line: LF LF, or LF CR LF.
            if (i + 1 < filled && buffer[i + 1] == '\n')
            {
                return i + 2;
            }

            if (i + 2 < filled && buffer[i + 1] == '\r' && buffer[i + 2] == '\n')
            {
                return i + 3;
            }

            if (i + 1 >= filled)
            {
                break;
            }
        }

        return -1;
    }

    /// <summary>How a response's body is delimited (RFC 9112 section 6.3).</summary>
    internal enum BodyKind
    {
        None,
        Length,
        Chunked,
        UntilClose,
    }

    /// <summary>What a probe reads of a response head.</summary>
    internal sealed record ResponseHead(Version Version, int Status, string? Reason, string? Location, long? ContentLength, bool Chunked)
    {
        /// <summary>How the body after this head is delimited, for a request of <paramref name="method"/>.</summary>
        public (BodyKind Kind, long Length) Framing(HttpMethod method) =>
            method == HttpMethod.Head || Status is 101 or 204 or 304 ? (BodyKind.None, 0)
            : Chunked ? (BodyKind.Chunked, 0)
            : ContentLength is { } length ? (length == 0 ? BodyKind.None : BodyKind.Length, length)
            : (BodyKind.UntilClose, 0);

        /// <summary>Parses a whole head, its blank line included; throws <see cref="HttpRequestException"/> (invalid response) when it is no HTTP/1.x head.</summary>
        public static ResponseHead Parse(ReadOnlySpan<byte> head)
        {
            var lineEnd = head.IndexOf((byte)'\n');
            ParseStatusLine(head[..(lineEnd + 1)], out var version, out var status);
            string? reason = null;
            var statusLine = TrimLineEnd(head[..lineEnd]);
            if (statusLine.Length > 13)
            {
                if (HasControl(statusLine[13..]))
                {
                    throw Invalid("the reason phrase has a control character");
                }

                reason = Encoding.Latin1.GetString(statusLine[13..]).Trim();
                reason = reason.Length == 0 ? null : reason;
            }

            // The three fields a probe reads, each value unfolded: an obsolete folded continuation line (one that
            // starts with a space or a tab) joins its field's value with a space (RFC 9112 5.2).
            List<string>? location = null;
            List<string>? contentLength = null;
            List<string>? transferEncoding = null;
            List<string>? current = null;
            var rest = head[(lineEnd + 1)..];
            while (rest.Length > 0)
            {
                var next = rest.IndexOf((byte)'\n');
                var line = TrimLineEnd(rest[..next]);
                rest = rest[(next + 1)..];
                if (line.Length == 0)
                {
                    continue;
                }

                if (HasControl(line))
                {
                    throw Invalid("a response header has a control character");
                }

                if (line[0] is (byte)' ' or (byte)'\t')
                {
                    if (current is not null)
                    {
                        current[^1] = (current[^1] + " " + Encoding.Latin1.GetString(line.Trim(" \t"u8))).Trim();
                    }

                    continue;
                }

                var colon = line.IndexOf((byte)':');
                if (colon <= 0 || !IsToken(line[..colon]))
                {
                    throw Invalid("a response header line is not \"name: value\"");
                }

                var name = line[..colon];
                current = name.Length == 8 && Ascii.EqualsIgnoreCase(name, "Location"u8) ? location ??= []
                    : name.Length == 14 && Ascii.EqualsIgnoreCase(name, "Content-Length"u8) ? contentLength ??= []
                    : name.Length == 17 && Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8) ? transferEncoding ??= []
                    : null;
                current?.Add(Encoding.Latin1.GetString(line[(colon + 1)..].Trim(" \t"u8)));
            }

            long? length = null;
            foreach (var value in contentLength ?? [])
            {
                if (!long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var one) || (length is { } seen && seen != one))
                {
                    throw Invalid("the response's Content-Length is not one number");
                }

                length = one;
            }

            // Chunked when chunked is the last coding applied, over every Transfer-Encoding line, empty list items
            // ignored; any other last coding runs to the close.
            var chunked = transferEncoding is not null && string.Join(',', transferEncoding).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is [.., var last]
                && last.Equals("chunked", StringComparison.OrdinalIgnoreCase);

            // With Transfer-Encoding, Content-Length does not count (RFC 9112 6.3, rule 3).
            return new ResponseHead(version, status, reason, location?[^1], transferEncoding is not null ? null : length, chunked);
        }

        /// <summary>Checks <c>HTTP/1.x SSS</c> at the start of a status line (with its line end).</summary>
        public static void ParseStatusLine(ReadOnlySpan<byte> line, out Version version, out int status)
        {
            line = TrimLineEnd(line.EndsWith("\n"u8) ? line[..^1] : line);
            if (line.Length < 12 || !line.StartsWith("HTTP/1."u8) || !char.IsAsciiDigit((char)line[7]) || line[8] != ' '
                || !char.IsAsciiDigit((char)line[9]) || !char.IsAsciiDigit((char)line[10]) || !char.IsAsciiDigit((char)line[11])
                || (line.Length > 12 && line[12] != ' ') || line[9] == '0')
            {
                throw Invalid("the status line is not HTTP/1.x");
            }

            version = line[7] == '0' ? HttpVersion.Version10 : HttpVersion.Version11;
            status = ((line[9] - '0') * 100) + ((line[10] - '0') * 10) + (line[11] - '0');
        }

        /// <summary>Whether <paramref name="text"/> has a control character but a tab (a bare CR, a NUL, DEL...).</summary>
        private static bool HasControl(ReadOnlySpan<byte> text)
        {
            foreach (var b in text)
            {
                if ((b < 0x20 && b != '\t') || b == 0x7F)
                {
                    return true;
                }
            }

            return false;
        }

        private static ReadOnlySpan<byte> TrimLineEnd(ReadOnlySpan<byte> line) => line.EndsWith("\r"u8) ? line[..^1] : line;

        private static bool IsToken(ReadOnlySpan<byte> name)
        {
            foreach (var b in name)
            {
                if (b <= ' ' || b >= 127 || "\"(),/:;<=>?@[\\]{}"u8.Contains(b))
                {
                    return false;
                }
            }

            return true;
        }
    }

    internal static HttpRequestException Invalid(string why) => new(HttpRequestError.InvalidResponse, "invalid HTTP response: " + why);
}
