using System.Buffers.Binary;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Roadmap.Storage.Tests.Sqlite;

/// <summary>
/// The tests' own reading and writing of SQLite's hot samples table (schema v9: one row per source key and ts, the
/// samples of the key's series in a blob of (zigzag varint offset from the key, little-endian double) entries), written
/// from the format's description, not with the product's codec, so that a test of the codec can fail.
/// Shared by the test projects that look into a database file.
/// </summary>
public static class HotSamplesTable
{
    /// <summary>Every hot sample as (series, ts, value), in the table's order (key, ts, series).</summary>
    public static List<(long Series, long Ts, double Value)> Read(DbConnection c, DbTransaction? tx = null)
    {
        var samples = new List<(long, long, double)>();
        if (c.State != System.Data.ConnectionState.Open)
        {
            c.Open(); // as Dapper does
        }

        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT source_key, ts, data FROM samples ORDER BY source_key, ts;";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var (key, ts) = (r.GetInt64(0), r.GetInt64(1));
            foreach (var (offset, value) in Decode((byte[])r.GetValue(2)))
            {
                samples.Add((key + offset, ts, value));
            }
        }

        return samples;
    }

    /// <summary>How many hot samples the table holds (entries, not rows).</summary>
    public static long Count(DbConnection c, DbTransaction? tx = null) => Read(c, tx).Count;

    /// <summary>
    /// Stores one sample of a series under its source key (the series' own id when it has no series row), as another
    /// process writing the file would: into the row of that key and ts, replacing the series' entry there.
    /// </summary>
    public static void Insert(SqliteConnection c, long series, long ts, double value, SqliteTransaction? tx = null)
    {
        using var find = c.CreateCommand();
        find.Transaction = tx;
        find.CommandText = "SELECT coalesce((SELECT source_key FROM series WHERE id = $s), $s);";
        find.Parameters.AddWithValue("$s", series);
        var key = (long)find.ExecuteScalar()!;
        using var read = c.CreateCommand();
        read.Transaction = tx;
        read.CommandText = "SELECT data FROM samples WHERE source_key = $k AND ts = $t;";
        read.Parameters.AddWithValue("$k", key);
        read.Parameters.AddWithValue("$t", ts);
        var entries = read.ExecuteScalar() is byte[] stored ? Decode(stored).ToDictionary(e => e.Offset, e => e.Value) : [];
        entries[series - key] = value;
        using var write = c.CreateCommand();
        write.Transaction = tx;
        write.CommandText = "INSERT OR REPLACE INTO samples (source_key, ts, data) VALUES ($k, $t, $d);";
        write.Parameters.AddWithValue("$k", key);
        write.Parameters.AddWithValue("$t", ts);
        write.Parameters.AddWithValue("$d", Encode(entries.OrderBy(e => e.Key).Select(e => (e.Key, e.Value))));
        write.ExecuteNonQuery();
    }

    /// <summary>The entries of one row's data.</summary>
    public static List<(long Offset, double Value)> Decode(byte[] data)
    {
        var entries = new List<(long, double)>();
        var i = 0;
        while (i < data.Length)
        {
            ulong zigzag = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = data[i++];
                zigzag |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    break;
                }
            }

            var offset = (long)(zigzag >> 1) ^ -(long)(zigzag & 1);
            entries.Add((offset, BinaryPrimitives.ReadDoubleLittleEndian(data.AsSpan(i, 8))));
            i += 8;
        }

        return entries;
    }

    /// <summary>One row's data from its entries (ascending offsets).</summary>
    public static byte[] Encode(IEnumerable<(long Offset, double Value)> entries)
    {
        var bytes = new List<byte>();
        foreach (var (offset, value) in entries)
        {
            var zigzag = (ulong)((offset << 1) ^ (offset >> 63));
            while (zigzag >= 0x80)
            {
                bytes.Add((byte)(zigzag | 0x80));
                zigzag >>= 7;
            }

            bytes.Add((byte)zigzag);
            var v = new byte[8];
            BinaryPrimitives.WriteDoubleLittleEndian(v, value);
            bytes.AddRange(v);
        }

        return [.. bytes];
    }
}
