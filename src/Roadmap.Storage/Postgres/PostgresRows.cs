using Npgsql;
using NpgsqlTypes;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Postgres;

/// <summary>Column lists and row readers shared by the writer and the readers.</summary>
internal static class PostgresRows
{
    /// <summary>A rollup bucket's columns, in the order <see cref="Rollup"/> reads them.</summary>
    public const string RollupColumns = "count, sum, min, max, first_ts, first_value, last_ts, last_value, increase, sketch";

    /// <summary>What an insert of a rollup row does when the row exists: replaces every column of it.</summary>
    public const string RollupOnConflict = """
        ON CONFLICT (series_id, start_ts) DO UPDATE SET
            count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max,
            first_ts = excluded.first_ts, first_value = excluded.first_value, last_ts = excluded.last_ts,
            last_value = excluded.last_value, increase = excluded.increase, sketch = excluded.sketch;
        """;

    /// <summary>Reads the columns of <see cref="RollupColumns"/> starting at ordinal 0.</summary>
    /// <param name="withSketch">False: the summary gets an empty sketch (the caller merges column 9 itself).</param>
    public static SeriesSummary Rollup(NpgsqlDataReader r, bool withSketch = true) =>
        SeriesSummary.Restore(
            r.GetInt64(0), r.GetDouble(1), r.GetDouble(2), r.GetDouble(3), r.GetInt64(4), r.GetDouble(5), r.GetInt64(6), r.GetDouble(7), r.GetDouble(8),
            withSketch ? QuantileSketch.FromBytes(r.GetFieldValue<byte[]>(9)) : new QuantileSketch());

    /// <summary>Writes one row of <c>series_id, start_ts, </c><see cref="RollupColumns"/> to a binary COPY.</summary>
    public static void WriteRollup(
        NpgsqlBinaryImporter w, long series, long start, long count, double sum, double min, double max, long firstTs, double firstValue, long lastTs, double lastValue, double increase, byte[] sketch)
    {
        w.StartRow();
        w.Write(series, NpgsqlDbType.Bigint);
        w.Write(start, NpgsqlDbType.Bigint);
        w.Write(count, NpgsqlDbType.Bigint);
        w.Write(sum, NpgsqlDbType.Double);
        w.Write(min, NpgsqlDbType.Double);
        w.Write(max, NpgsqlDbType.Double);
        w.Write(firstTs, NpgsqlDbType.Bigint);
        w.Write(firstValue, NpgsqlDbType.Double);
        w.Write(lastTs, NpgsqlDbType.Bigint);
        w.Write(lastValue, NpgsqlDbType.Double);
        w.Write(increase, NpgsqlDbType.Double);
        w.Write(sketch, NpgsqlDbType.Bytea);
    }
}
