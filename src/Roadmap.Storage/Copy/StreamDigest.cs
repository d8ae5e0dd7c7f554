using System.Globalization;
using System.Numerics;

namespace Roadmap.Storage.Copy;

/// <summary>
/// A stream's row count and checksum. The checksum folds the rows' hashes (every column the copy carries) in key
/// order; rows that share a key are summed first, so their order among themselves does not matter (two backends may
/// tie-break differently) while a lost, added, duplicated or changed row does. Computed by <see cref="StorageCopier"/>
/// from the rows each side's <see cref="IHistoryExport.Read"/> returns: the same code on both sides, never a store's own.
/// </summary>
/// <param name="Rows">How many rows.</param>
/// <param name="Checksum">The checksum (0 for no rows).</param>
public readonly record struct StreamDigest(long Rows, ulong Checksum)
{
    /// <summary>The checksum as 16 hex digits, for messages.</summary>
    public string Hex => Checksum.ToString("x16", CultureInfo.InvariantCulture);
}

/// <summary>Builds a <see cref="StreamDigest"/> from rows given in key order, page after page.</summary>
internal sealed class StreamDigestBuilder
{
    private ulong _state;
    private long _rows;
    private long _key;
    private ulong _keySum;
    private bool _inKey;

    public void Add(HistoryRow row)
    {
        if (!_inKey || row.Key != _key)
        {
            CloseKey();
            _key = row.Key;
            _inKey = true;
        }

        var hash = default(RowHash);
        row.Fold(ref hash);
        _keySum += hash.Value;
        _rows++;
    }

    public StreamDigest Result()
    {
        CloseKey();
        return new StreamDigest(_rows, _rows == 0 ? 0 : RowHash.Finalize(_state ^ (ulong)_rows));
    }

    private void CloseKey()
    {
        if (_inKey)
        {
            _state = BitOperations.RotateLeft((_state ^ RowHash.Finalize((ulong)_key ^ RowHash.Finalize(_keySum))) * 0x9E3779B97F4A7C15UL, 31);
            _inKey = false;
        }
    }
}
