using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Prometheus;
using Roadmap.Sources;

namespace Roadmap.Worker.Exporting;

/// <summary>
/// <c>roadmap_signal_value</c>, the latest raw sample of each signal of each source, kept as one row of two arrays per
/// source and written into the exposition at scrape time. It is the one family with a series per source and signal:
/// as prometheus-net children (a child object, its label array and the family's dictionary entries, about 500 bytes
/// each, plus a dictionary per source) it was the largest part of the managed heap's metrics at 10,000 sources.
/// </summary>
public sealed class SignalValues
{
    public const string Name = "roadmap_signal_value";
    public const string Help = "The latest raw sample of each signal.";

    private static readonly byte[] Declaration = Encoding.UTF8.GetBytes($"# HELP {Name} {Help}\n# TYPE {Name} gauge\n");

    private readonly ConcurrentDictionary<string, Row> _rows = new(StringComparer.Ordinal);

    /// <summary>The sources that have a row (at least one sample recorded since start or since they were forgotten).</summary>
    public ICollection<string> Sources => _rows.Keys;

    /// <summary>The row of <paramref name="source"/>, made at its first use.</summary>
    public Row RowOf(string source) => _rows.GetOrAdd(source, static s => new Row(s));

    /// <summary>Drops every series of <paramref name="source"/>. A poll still holding its row writes into it unseen.</summary>
    public void Forget(string source) => _rows.TryRemove(source, out _);

    /// <summary>Drops the series of <paramref name="source"/> whose signal is not among <paramref name="signals"/>.</summary>
    public void Retain(string source, IReadOnlyList<string> signals)
    {
        if (_rows.TryGetValue(source, out var row))
        {
            row.Retain(signals);
        }
    }

    /// <summary>The latest value of one series, if it is exported (for tests).</summary>
    public double? Get(string source, string signal) => _rows.TryGetValue(source, out var row) ? row.Get(signal) : null;

    /// <summary>
    /// Writes the family (its HELP and TYPE lines, then a line per series of the sources <paramref name="exported"/>
    /// accepts) to <paramref name="stream"/> in <paramref name="format"/>: finite values as prometheus-net writes them
    /// (in OpenMetrics with a float's decimal point), NaN and the infinities as both formats spell them (+Inf, -Inf,
    /// NaN; prometheus-net's text format writes .NET's "Infinity").
    /// </summary>
    public async Task WriteAsync(Stream stream, ExpositionFormat format, Func<string, bool>? exported, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        buffer.Write(Declaration);
        foreach (var (source, row) in _rows)
        {
            if (exported is not null && !exported(source))
            {
                continue;
            }

            row.WriteTo(buffer, format == ExpositionFormat.OpenMetricsText);
            if (buffer.WrittenCount >= 48 * 1024)
            {
                await stream.WriteAsync(buffer.WrittenMemory, ct);
                buffer.ResetWrittenCount();
            }
        }

        await stream.WriteAsync(buffer.WrittenMemory, ct);
    }

    /// <summary>One source's series: the signals seen in the order first seen, and each one's latest value.</summary>
    public sealed class Row
    {
        private readonly Lock _gate = new();
        // The line's head up to the signal's name: roadmap_signal_value{source="...",signal="
        private readonly byte[] _head;
        private string[] _signals = [];
        private double[] _values = [];
        private int _count;

        internal Row(string source)
        {
            var head = new StringBuilder(Name).Append("{source=\"");
            AppendEscaped(head, source);
            _head = Encoding.UTF8.GetBytes(head.Append("\",signal=\"").ToString());
        }

        /// <summary>Sets each sample's series to its value; a signal seen for the first time gets a series.</summary>
        public void Set(IReadOnlyList<Sample> samples)
        {
            if (samples.Count == 0)
            {
                return;
            }

            lock (_gate)
            {
                for (var i = 0; i < samples.Count; i++)
                {
                    var (signal, value) = samples[i];
                    // Not _values[IndexOf(signal)]: the array is read before IndexOf may replace it with a larger one.
                    var at = IndexOf(signal);
                    _values[at] = value;
                }
            }
        }

        internal double? Get(string signal)
        {
            lock (_gate)
            {
                var at = Array.FindIndex(_signals, 0, _count, s => s == signal);
                return at < 0 ? null : _values[at];
            }
        }

        internal void Retain(IReadOnlyList<string> signals)
        {
            lock (_gate)
            {
                var kept = 0;
                for (var i = 0; i < _count; i++)
                {
                    if (signals.Contains(_signals[i]))
                    {
                        _signals[kept] = _signals[i];
                        _values[kept++] = _values[i];
                    }
                }

                Array.Clear(_signals, kept, _count - kept);
                _count = kept;
            }
        }

        internal void WriteTo(ArrayBufferWriter<byte> to, bool openMetrics)
        {
            lock (_gate)
            {
                for (var i = 0; i < _count; i++)
                {
                    to.Write(_head);
                    WriteEscaped(to, _signals[i]);
                    to.Write("\"} "u8);
                    WriteValue(to, _values[i], openMetrics);
                    to.Write("\n"u8);
                }
            }
        }

        // Signals are few per source (1 to about 15) and mostly the same string instances each poll.
        private int IndexOf(string signal)
        {
            for (var i = 0; i < _count; i++)
            {
                if (ReferenceEquals(_signals[i], signal) || _signals[i] == signal)
                {
                    return i;
                }
            }

            if (_count == _signals.Length)
            {
                var size = Math.Max(4, _count * 2);
                Array.Resize(ref _signals, size);
                Array.Resize(ref _values, size);
            }

            _signals[_count] = signal;
            return _count++;
        }
    }

    private static void AppendEscaped(StringBuilder to, string value)
    {
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => to.Append("\\\\"),
                '"' => to.Append("\\\""),
                '\n' => to.Append("\\n"),
                _ => to.Append(c),
            };
        }
    }

    private static void WriteEscaped(ArrayBufferWriter<byte> to, string value)
    {
        if (value.AsSpan().IndexOfAny("\\\"\n") >= 0)
        {
            var escaped = new StringBuilder(value.Length + 8);
            AppendEscaped(escaped, value);
            value = escaped.ToString();
        }

        var span = to.GetSpan(Encoding.UTF8.GetMaxByteCount(value.Length));
        to.Advance(Encoding.UTF8.GetBytes(value, span));
    }

    private static void WriteValue(ArrayBufferWriter<byte> to, double value, bool openMetrics)
    {
        if (double.IsNaN(value))
        {
            to.Write("NaN"u8);
            return;
        }

        if (double.IsInfinity(value))
        {
            to.Write(value > 0 ? "+Inf"u8 : "-Inf"u8);
            return;
        }

        var span = to.GetSpan(32);
        if (!value.TryFormat(span, out var written, "g", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"{value} did not fit 32 bytes");
        }

        // OpenMetrics reads a number without a point or an exponent as an integer; a gauge's value is a float ("g" writes
        // a lower-case exponent: 1e+21).
        var needsPoint = openMetrics && span[..written].IndexOfAny((byte)'.', (byte)'e') < 0;
        to.Advance(written);
        if (needsPoint)
        {
            to.Write(".0"u8);
        }
    }
}
