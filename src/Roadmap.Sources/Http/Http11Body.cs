using System.Buffers;
using System.Globalization;
using System.Text;

namespace Roadmap.Sources.Http;

/// <summary>
/// The body of an <see cref="Http11Exchange"/> response, read off its connection as it is asked for: the bytes after
/// the head that came with it first, then the connection, as far as the framing allows. Owns the connection and the
/// head's pooled buffer; disposing it closes the one and returns the other.
/// <para>
/// Reads end with 0 at the end of the body. A connection that ends before a <c>Content-Length</c> or a chunked body
/// does throws an <see cref="IOException"/>; a chunk-size or trailer line that is malformed or
/// over <see cref="Http11Exchange.MaxLineBytes"/>, or trailers over <see cref="Http11Exchange.MaxHeadBytes"/>, throw
/// one too (invalid response).
/// </para>
/// </summary>
internal sealed class Http11Body : Stream
{
    private readonly Stream _connection;
    private readonly Http11Exchange.BodyKind _kind;
    private byte[]? _buffer;
    private int _start;
    private int _end;

    // Length: bytes of the body still to come. Chunked: bytes of the current chunk still to come (0 between chunks).
    private long _remaining;
    private ChunkState _chunk = ChunkState.Size;

    public Http11Body(Stream connection, byte[] buffer, int start, int end, Http11Exchange.BodyKind kind, long length)
    {
        _connection = connection;
        _buffer = buffer;
        _start = start;
        _end = end;
        _kind = kind;
        _remaining = length;
    }

    private enum ChunkState
    {
        Size,
        Data,
        DataEnd,
        Done,
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_buffer is null, this);
        if (destination.IsEmpty)
        {
            return 0;
        }

        switch (_kind)
        {
            case Http11Exchange.BodyKind.None:
                return 0;
            case Http11Exchange.BodyKind.UntilClose:
                return await ReadSomeAsync(destination, cancellationToken);
            case Http11Exchange.BodyKind.Length:
            {
                if (_remaining == 0)
                {
                    return 0;
                }

                var n = await ReadSomeAsync(destination[..(int)Math.Min(destination.Length, _remaining)], cancellationToken);
                if (n == 0)
                {
                    throw Ended($"the server closed the connection {_remaining} bytes before the end of the Content-Length body");
                }

                _remaining -= n;
                return n;
            }

            default:
                return await ReadChunkedAsync(destination, cancellationToken);
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && _buffer is { } buffer)
        {
            _buffer = null;
            _connection.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            await _connection.DisposeAsync();
            ArrayPool<byte>.Shared.Return(buffer);
        }

        await base.DisposeAsync();
    }

    private static IOException Ended(string why) => new(why);

    private static IOException Invalid(string why) => new("invalid HTTP response: " + why);

    /// <summary>Bytes already buffered, else one read of the connection straight into <paramref name="destination"/>; 0 at its end.</summary>
    private async ValueTask<int> ReadSomeAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (_start < _end)
        {
            var n = Math.Min(destination.Length, _end - _start);
            _buffer.AsSpan(_start, n).CopyTo(destination.Span);
            _start += n;
            return n;
        }

        return await _connection.ReadAsync(destination, cancellationToken);
    }

    private async ValueTask<int> ReadChunkedAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        while (true)
        {
            switch (_chunk)
            {
                case ChunkState.Done:
                    return 0;
                case ChunkState.Data:
                {
                    var n = await ReadSomeAsync(destination[..(int)Math.Min(destination.Length, _remaining)], cancellationToken);
                    if (n == 0)
                    {
                        throw Ended("the server closed the connection in the middle of a chunk");
                    }

                    _remaining -= n;
                    if (_remaining == 0)
                    {
                        _chunk = ChunkState.DataEnd;
                    }

                    return n;
                }

                case ChunkState.DataEnd:
                {
                    var line = await ReadLineAsync(cancellationToken);
                    if (line.Length != 0)
                    {
                        throw Invalid("a chunk is longer than its size says");
                    }

                    _chunk = ChunkState.Size;
                    break;
                }

                default:
                {
                    var line = await ReadLineAsync(cancellationToken);
                    var size = line.AsSpan();
                    var extensions = size.IndexOf(';');
                    size = (extensions >= 0 ? size[..extensions] : size).Trim(" \t");
                    // Leading zeros do not count against the 15 digits a long holds (as hexadecimal, unsigned).
                    var digits = size.TrimStart('0');
                    long length = 0;
                    if (size.Length == 0 || digits.Length > 15 || (digits.Length > 0 && !long.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out length)))
                    {
                        throw Invalid("a chunk size is not a hexadecimal number");
                    }

                    if (length == 0)
                    {
                        await SkipTrailersAsync(cancellationToken);
                        _chunk = ChunkState.Done;
                        return 0;
                    }

                    _remaining = length;
                    _chunk = ChunkState.Data;
                    break;
                }
            }
        }
    }

    /// <summary>The trailer section after the last chunk, up to its blank line: read and dropped, within bounds.</summary>
    private async ValueTask SkipTrailersAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            var line = await ReadLineAsync(cancellationToken);
            if (line.Length == 0)
            {
                return;
            }

            total += line.Length;
            if (total > Http11Exchange.MaxHeadBytes)
            {
                throw Invalid($"the trailers are over {Http11Exchange.MaxHeadBytes / 1024} KiB");
            }
        }
    }

    /// <summary>One line of the chunked framing, without its line end; at most <see cref="Http11Exchange.MaxLineBytes"/>.</summary>
    private async ValueTask<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var buffer = _buffer!;
        var scanned = _start;
        while (true)
        {
            var lf = Array.IndexOf(buffer, (byte)'\n', scanned, _end - scanned);
            if (lf >= 0)
            {
                var line = buffer.AsSpan(_start, lf - _start);
                line = line.EndsWith("\r"u8) ? line[..^1] : line;
                _start = lf + 1;
                return Encoding.Latin1.GetString(line);
            }

            if (_end - _start >= Math.Min(Http11Exchange.MaxLineBytes, buffer.Length))
            {
                throw Invalid($"a line of the chunked body is over {Http11Exchange.MaxLineBytes / 1024} KiB");
            }

            // Room for the rest of the line: what is left moves to the front of the buffer.
            if (_end == buffer.Length)
            {
                Buffer.BlockCopy(buffer, _start, buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            scanned = _end;
            var n = await _connection.ReadAsync(buffer.AsMemory(_end), cancellationToken);
            if (n == 0)
            {
                throw Ended("the server closed the connection in the middle of the chunked body");
            }

            _end += n;
        }
    }
}
