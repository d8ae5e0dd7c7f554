using Npgsql;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage.Postgres;

/// <summary>Column lists and row readers shared by the writer and the readers.</summary>
internal static class PostgresRows
{
    /// <summary>A rollup bucket's columns, in the order <see cref="Rollup"/> reads them.</summary>
    public const string RollupColumns = "count, sum, min, max, first_ts, first_value, last_ts, last_value, increase, sketch";

    /// <summary>Reads the columns of <see cref="RollupColumns"/> starting at ordinal 0.</summary>
    /// <param name="withSketch">False: the summary gets an empty sketch (the caller merges column 9 itself).</param>
    public static SeriesSummary Rollup(NpgsqlDataReader r, bool withSketch = true) =>
        SeriesSummary.Restore(
            r.GetInt64(0), r.GetDouble(1), r.GetDouble(2), r.GetDouble(3), r.GetInt64(4), r.GetDouble(5), r.GetInt64(6), r.GetDouble(7), r.GetDouble(8),
            withSketch ? QuantileSketch.FromBytes(r.GetFieldValue<byte[]>(9)) : new QuantileSketch());
}
