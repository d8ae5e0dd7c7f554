namespace Roadmap.Storage.Copy;

/// <summary>The tables a copy between stores carries, in the order <see cref="StorageCopier"/> copies them.</summary>
public enum HistoryTable
{
    /// <summary>
    /// The hot raw samples (the samples table: those not sealed into a chunk yet, and late ones for a sealed range): one
    /// stream per series (source, signal), keyed by the sample's time.
    /// </summary>
    Samples,

    /// <summary>
    /// Sealed chunks exactly as stored (their bytes never decoded into rows nor encoded again): one stream per series,
    /// keyed by the start of the range a chunk covers. A series' samples are its chunks' merged with its hot rows.
    /// </summary>
    Chunks,

    /// <summary>Hour rollups as stored (never rebuilt): one stream per series, keyed by the bucket's start.</summary>
    RollupsHour,

    /// <summary>UTC-day rollups as stored: one stream per series, keyed by the bucket's start.</summary>
    RollupsDay,

    /// <summary>Polls: one stream per source, keyed by the poll's start time.</summary>
    Polls,

    /// <summary>The KPI evaluation history: one stream per (initiative, KPI), keyed by the evaluation's time.</summary>
    Evaluations,

    /// <summary>Computed baselines: one stream per (initiative, KPI), keyed by when the baseline was computed.</summary>
    Baselines,

    /// <summary>What the scheduled updates covered: one stream per update name, keyed by the scheduled fire.</summary>
    UpdateDeliveries,
}

/// <summary>
/// One ordered run of rows of one table: a series' samples or rollups, a source's polls, a KPI's evaluations or
/// baselines, an update's deliveries. Streams are what a copy resumes and what its checksums are computed over.
/// </summary>
/// <param name="Table">The table.</param>
/// <param name="Name">The first part of the stream's identity: the source (samples, chunks, rollups, polls), the
/// initiative (evaluations, baselines) or the update's name (deliveries).</param>
/// <param name="Part">The second part: the signal (samples, chunks, rollups) or the KPI (evaluations, baselines); empty
/// for polls and deliveries.</param>
public sealed record HistoryStreamId(HistoryTable Table, string Name, string Part)
{
    /// <summary>The table's name in messages: samples, chunks, rollups_hour, rollups_day, polls, evaluations, baselines, update_deliveries.</summary>
    public static string TableName(HistoryTable table) => table switch
    {
        HistoryTable.Samples => "samples",
        HistoryTable.Chunks => "chunks",
        HistoryTable.RollupsHour => "rollups_hour",
        HistoryTable.RollupsDay => "rollups_day",
        HistoryTable.Polls => "polls",
        HistoryTable.Evaluations => "evaluations",
        HistoryTable.Baselines => "baselines",
        _ => "update_deliveries",
    };

    /// <summary>Whether the table's streams are series' (samples, chunks, rollups): named by (source, signal), stored
    /// under a series id of each store's own.</summary>
    public static bool OfSeries(HistoryTable table) =>
        table is HistoryTable.Samples or HistoryTable.Chunks or HistoryTable.RollupsHour or HistoryTable.RollupsDay;

    /// <summary>E.g. <c>samples web/latency_seconds</c>, <c>polls web</c>.</summary>
    public override string ToString() => Part.Length == 0 ? $"{TableName(Table)} {Name}" : $"{TableName(Table)} {Name}/{Part}";
}

/// <summary>
/// Where a stream's rows continue: past every row whose key is less than <see cref="Key"/>, and past the first
/// <see cref="RowsAtKey"/> rows whose key equals it (in the stream's order). <see cref="Start"/> is before every row.
/// </summary>
/// <param name="Key">The key of the last row passed (unix milliseconds for every table so far).</param>
/// <param name="RowsAtKey">How many rows with that key were passed.</param>
public readonly record struct StreamPosition(long Key, long RowsAtKey)
{
    /// <summary>Before the first row of any stream.</summary>
    public static StreamPosition Start { get; } = new(long.MinValue, 0);

    /// <summary>The position after <paramref name="rows"/>, read from this position in stream order.</summary>
    public StreamPosition After(IReadOnlyList<HistoryRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return this;
        }

        var last = rows[^1].Key;
        long atKey = 0;
        for (var i = rows.Count - 1; i >= 0 && rows[i].Key == last; i--)
        {
            atKey++;
        }

        // Every row of the page had the key this position was already in: the rows at that key add up.
        return atKey == rows.Count && last == Key ? new StreamPosition(last, RowsAtKey + atKey) : new StreamPosition(last, atKey);
    }
}
