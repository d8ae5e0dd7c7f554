namespace Roadmap.Storage;

/// <summary>A rollup granularity: per series and hour, or per series and UTC day.</summary>
public sealed class RollupLevel
{
    private RollupLevel(string table, TimeSpan size)
    {
        Table = table;
        SizeMs = (long)size.TotalMilliseconds;
    }

    public static RollupLevel Hour { get; } = new("rollups_hour", TimeSpan.FromHours(1));

    public static RollupLevel Day { get; } = new("rollups_day", TimeSpan.FromDays(1));

    public string Table { get; }

    /// <summary>The bucket length in milliseconds.</summary>
    public long SizeMs { get; }

    /// <summary>The start of the bucket holding <paramref name="ts"/> (unix ms UTC; UTC days since the epoch has none of its own).</summary>
    public long StartOf(long ts) => ts - (((ts % SizeMs) + SizeMs) % SizeMs);

    public override string ToString() => Table;
}
