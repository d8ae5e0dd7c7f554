namespace Roadmap.Storage;

/// <summary>
/// Where a window's summary is read from, the same for every backend: a span under a day raw; else the raw samples of
/// the partial hour at each edge, hour rollups up to the UTC day boundaries, day rollups for the whole UTC days
/// between. An edge whose UTC day is sealed into one day chunk has no hour rollups (the compactor drops them with the
/// seal): that edge, [From, FirstDay) or [LastDay, End), is read raw whole instead. The whole days that ended an hour
/// before may come from <see cref="ClosedDaysCache"/>. The last partial hour [LastHour, End) holds the same samples as
/// its hour rollup when none of them is at or after End; SQLite then reads the rollup (one row, not up to 3,600 samples
/// of a KPI polled every second). All bounds are unix ms UTC; every range is [from, to), and an
/// empty one (to &lt;= from) is skipped.
/// </summary>
/// <param name="From">The first millisecond of the window.</param>
/// <param name="End">One past the last millisecond of the window.</param>
/// <param name="FirstHour">The first whole hour's start: raw samples fill [From, FirstHour).</param>
/// <param name="FirstDay">Hour rollups fill [FirstHour, FirstDay); day rollups start here.</param>
/// <param name="LastDay">Day rollups fill [FirstDay, LastDay); hour rollups fill [LastDay, LastHour).</param>
/// <param name="LastHour">Raw samples fill [LastHour, End).</param>
/// <param name="SketchQuantiles">The caller needs no exact quantiles (<see cref="WindowReads.SketchQuantiles"/>): a window
/// shorter than a day is then read like a longer one, from its hours, where it has a whole one.</param>
public readonly record struct WindowPlan(long From, long End, long FirstHour, long FirstDay, long LastDay, long LastHour, bool SketchQuantiles = false)
{
    private const long HourMs = 3_600_000;
    private const long DayMs = 86_400_000;

    /// <summary>Whether the whole window is read raw: only [From, End) then. A window shorter than a day is, for its
    /// exact quantiles, unless the caller needs none and it holds an hour boundary.</summary>
    public bool Raw => End - From < DayMs && (!SketchQuantiles || FirstHour > LastHour);

    /// <summary>The start of the hour holding <see cref="From"/>: where the edge's hour rollup starts when its raw
    /// samples were already removed by retention.</summary>
    public long EdgeHour => FloorTo(From, HourMs);

    /// <summary>Whether the window has a partial first hour (raw, or its hour rollup when the raw samples are gone).</summary>
    public bool RaggedStart => From < FirstHour;

    /// <summary>The plan of the window from &lt;= ts &lt;= to.</summary>
    public static WindowPlan Of(DateTimeOffset from, DateTimeOffset to, bool sketchQuantiles = false)
    {
        var f = from.ToUnixTimeMilliseconds();
        var end = to.ToUnixTimeMilliseconds() + 1;
        var h1 = CeilTo(f, HourMs);
        var h2 = FloorTo(end, HourMs);
        var d1 = CeilTo(h1, DayMs);
        var d2 = FloorTo(h2, DayMs);
        if (d1 > d2)
        {
            d1 = d2 = h2; // no UTC day boundary inside (a window shorter than a day): hours all the way
        }

        return new WindowPlan(f, end, h1, d1, d2, h2, sketchQuantiles);
    }

    private static long FloorTo(long ts, long size) => ts - (((ts % size) + size) % size);

    private static long CeilTo(long ts, long size) => FloorTo(ts + size - 1, size);
}
