using System.Runtime.InteropServices;

namespace Roadmap.Storage;

/// <summary>
/// Orders a batch's samples by (series, ts, arrival), the order every backend's samples table is clustered by: grouped
/// by series in one stable pass (a counting sort on the few distinct series), then each series' run sorted by time
/// only if it is not already, which polls arriving in time order almost never need. A full comparison sort of
/// 200,000 rows costs more than this. The arrays are reused from batch to batch; not thread-safe.
/// </summary>
internal sealed class SampleSorter
{
    private SeriesSample[] _rows = new SeriesSample[1024];
    private SeriesSample[] _sorted = [];
    // The sort's per-batch tables, reused: with thousands of series each is over the large-object threshold, and a
    // fresh one per batch left megabytes of dead arrays on the large object heap until the next full collection.
    private readonly Dictionary<long, int> _seriesCounts = [];
    private readonly Dictionary<long, int> _seriesNext = [];
    private long[] _seriesOrder = [];

    /// <summary>Room for <paramref name="count"/> samples, to be filled in arrival order before <see cref="Sort"/>.</summary>
    public Span<SeriesSample> Rows(int count)
    {
        if (_rows.Length < count)
        {
            Array.Resize(ref _rows, Math.Max(count, _rows.Length * 2));
        }

        return _rows.AsSpan(0, count);
    }

    /// <summary>The first <paramref name="count"/> rows of <see cref="Rows"/>, sorted; valid until the next call.</summary>
    public ReadOnlySpan<SeriesSample> Sort(int count)
    {
        var rows = _rows.AsSpan(0, count);
        _seriesCounts.Clear();
        foreach (ref readonly var row in rows)
        {
            _seriesCounts[row.Series] = _seriesCounts.GetValueOrDefault(row.Series) + 1;
        }

        if (_sorted.Length < _rows.Length)
        {
            _sorted = new SeriesSample[_rows.Length];
        }

        if (_seriesOrder.Length < _seriesCounts.Count)
        {
            _seriesOrder = new long[_seriesCounts.Count * 2];
        }

        _seriesCounts.Keys.CopyTo(_seriesOrder, 0);
        var offsets = _seriesOrder.AsSpan(0, _seriesCounts.Count);
        offsets.Sort();
        var next = _seriesNext;
        next.Clear();
        var at = 0;
        foreach (var series in offsets)
        {
            next[series] = at;
            at += _seriesCounts[series];
        }

        foreach (ref readonly var row in rows)
        {
            ref var slot = ref CollectionsMarshal.GetValueRefOrNullRef(next, row.Series);
            _sorted[slot++] = row;
        }

        var sorted = _sorted.AsSpan(0, count);
        var start = 0;
        foreach (var series in offsets)
        {
            var run = sorted.Slice(start, _seriesCounts[series]);
            for (var k = 1; k < run.Length; k++)
            {
                if (run[k].Ts < run[k - 1].Ts)
                {
                    run.Sort(); // Seq breaks ties, so equal timestamps keep their arrival order
                    break;
                }
            }

            start += run.Length;
        }

        return sorted;
    }
}
