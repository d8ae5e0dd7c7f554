using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Roadmap.Storage.Postgres;

/// <summary>
/// A range-partitioned table: its partition key (unix ms UTC) and the span of one partition (a UTC day or a UTC month).
/// Retention drops whole partitions, so the span is also the granularity of retention.
/// </summary>
internal sealed class PartitionedTable
{
    private PartitionedTable(string name, string column, bool daily, string? storageParameters = null)
    {
        Name = name;
        Column = column;
        Daily = daily;
        StorageParameters = storageParameters;
    }

    /// <summary>Raw samples, a partition per UTC day.</summary>
    public static PartitionedTable Samples { get; } = new("samples", "ts", daily: true);

    /// <summary>Polls, a partition per UTC day.</summary>
    public static PartitionedTable Polls { get; } = new("polls", "ts", daily: true);

    /// <summary>Hour rollups, a partition per UTC month.</summary>
    public static PartitionedTable RollupsHour { get; } = new(RollupLevel.Hour.Table, "start_ts", daily: false);

    /// <summary>Day rollups, a partition per UTC month, each page half empty after inserts (<see cref="DayFillFactor"/>).</summary>
    public static PartitionedTable RollupsDay { get; } = new(RollupLevel.Day.Table, "start_ts", daily: false, FormattableString.Invariant($"fillfactor = {DayFillFactor}"));

    /// <summary>
    /// How full (percent) inserts may fill a page of a day rollup partition. The writer rewrites the open day's row of
    /// every series it has samples for in each batch, all day long. PostgreSQL keeps such an update in the row's own
    /// page (a HOT update: no new index entry, and the version it replaces is pruned from the page the next time the
    /// page is read) only while that page has room for the new version; a page filled by inserts has none, so every
    /// rewrite went to another page and left its old version behind until a vacuum. One batch can rewrite every row
    /// of a page, so a page keeps room for a second version of each: half. A closed day is not rewritten and keeps the
    /// room unused, which costs little: a day row stands for a whole day of samples. The hour rollups are left full:
    /// their rows outnumber the days' by the hours in a day, and measured with room left they came out larger.
    /// </summary>
    public const int DayFillFactor = 50;

    /// <summary>Evaluations, a partition per UTC month.</summary>
    public static PartitionedTable Evaluations { get; } = new("evaluations", "ts", daily: false);

    public static IReadOnlyList<PartitionedTable> All { get; } = [Samples, Polls, RollupsHour, RollupsDay, Evaluations];

    public static PartitionedTable Rollups(RollupLevel level) => level == RollupLevel.Hour ? RollupsHour : RollupsDay;

    public string Name { get; }

    /// <summary>The partition key column (unix ms UTC).</summary>
    public string Column { get; }

    /// <summary>A partition per UTC day (else per UTC month).</summary>
    public bool Daily { get; }

    /// <summary>The storage parameters each partition is created with (PostgreSQL takes none on the partitioned table
    /// itself); null: the server's defaults.</summary>
    public string? StorageParameters { get; }

    /// <summary>The start of the partition holding <paramref name="ts"/>.</summary>
    public long StartOf(long ts)
    {
        if (Daily)
        {
            return RollupLevel.Day.StartOf(ts);
        }

        var t = DateTimeOffset.FromUnixTimeMilliseconds(ts);
        return new DateTimeOffset(t.Year, t.Month, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
    }

    /// <summary>The start of the partition after the one starting at <paramref name="start"/>.</summary>
    public long Next(long start) => Daily
        ? start + RollupLevel.Day.SizeMs
        : DateTimeOffset.FromUnixTimeMilliseconds(start).AddMonths(1).ToUnixTimeMilliseconds();

    /// <summary>The partition's table name: <c>samples_p20261101</c>, <c>rollups_hour_p202611</c>.</summary>
    public string PartitionName(long start) =>
        Name + "_p" + DateTimeOffset.FromUnixTimeMilliseconds(start).ToString(Daily ? "yyyyMMdd" : "yyyyMM", CultureInfo.InvariantCulture);

    public string CreateSql(long start) => FormattableString.Invariant(
        $"CREATE TABLE IF NOT EXISTS {PartitionName(start)} PARTITION OF {Name} FOR VALUES FROM ({start}) TO ({Next(start)}){(StorageParameters is null ? "" : $" WITH ({StorageParameters})")};");

    public override string ToString() => Name;
}

/// <summary>
/// Creates partitions (ahead of time, and on demand for a late or early timestamp, so an insert never fails for lack of
/// one) and lists them for retention. Thread-safe: the writer, the evaluation store and the opener share one.
/// </summary>
/// <remarks>
/// A partition is created in the caller's transaction, after an advisory lock that serializes partition creation across
/// processes (two writers creating the same day at once would otherwise collide in the catalog). It is remembered as
/// existing only once that transaction committed: a rolled-back batch took its partitions with it.
/// </remarks>
internal sealed partial class Partitions
{
    /// <summary>Held (per transaction) while creating partitions; any constant unlikely to be another application's.</summary>
    private const long CreateLock = 0x526f61646d617031; // "Roadmap1"

    /// <summary>Daily partitions created ahead of today, and monthly ones ahead of this month.</summary>
    public const int DaysAhead = 3, MonthsAhead = 1;

    private readonly ConcurrentDictionary<string, byte> _known = new(StringComparer.Ordinal);

    /// <summary>
    /// Creates, in <paramref name="tx"/>, every partition of <paramref name="table"/> holding one of
    /// <paramref name="starts"/> (partition starts) that is not known to exist; adds the names it ran to
    /// <paramref name="created"/>, to be passed to <see cref="Committed"/> after the commit.
    /// </summary>
    public void Ensure(NpgsqlConnection c, NpgsqlTransaction tx, PartitionedTable table, IEnumerable<long> starts, List<string> created)
    {
        var locked = created.Count > 0;
        foreach (var start in starts)
        {
            var name = table.PartitionName(start);
            if (_known.ContainsKey(name) || created.Contains(name))
            {
                continue;
            }

            if (!locked)
            {
                Execute(c, tx, FormattableString.Invariant($"SELECT pg_advisory_xact_lock({CreateLock});"));
                locked = true;
            }

            Execute(c, tx, table.CreateSql(start));
            created.Add(name);
        }
    }

    /// <summary>Remembers partitions whose creating transaction committed.</summary>
    public void Committed(List<string> created)
    {
        foreach (var name in created)
        {
            _known[name] = 0;
        }

        created.Clear();
    }

    /// <summary>Forgets a dropped partition (retention), so a late sample for its range creates it again.</summary>
    public void Dropped(string name) => _known.TryRemove(name, out _);

    /// <summary>The partitions from yesterday to <see cref="DaysAhead"/> days ahead (daily), or from this month to
    /// <see cref="MonthsAhead"/> ahead (monthly), of every table, as of <paramref name="nowMs"/>.</summary>
    public void EnsureAhead(NpgsqlConnection c, NpgsqlTransaction tx, long nowMs, List<string> created)
    {
        foreach (var table in PartitionedTable.All)
        {
            var starts = new List<long>();
            var start = table.StartOf(table.Daily ? nowMs - RollupLevel.Day.SizeMs : nowMs);
            for (var i = 0; i <= (table.Daily ? DaysAhead + 1 : MonthsAhead); i++)
            {
                starts.Add(start);
                start = table.Next(start);
            }

            Ensure(c, tx, table, starts, created);
        }
    }

    /// <summary>The partitions of <paramref name="table"/> with their bounds [From, To), oldest first.</summary>
    public static List<(string Name, long From, long To)> List(NpgsqlConnection c, NpgsqlTransaction? tx, PartitionedTable table)
    {
        using var cmd = new NpgsqlCommand(
            """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass($1);
            """,
            c,
            tx);
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table.Name });
        var result = new List<(string, long, long)>();
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                // FOR VALUES FROM ('1793491200000') TO ('1793577600000'); a DEFAULT partition (not ours) has no bounds.
                if (Bounds().Match(r.GetString(1)) is { Success: true } m)
                {
                    result.Add((r.GetString(0), long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));
                }
            }
        }

        result.Sort((a, b) => a.Item2.CompareTo(b.Item2));
        return result;
    }

    private static void Execute(NpgsqlConnection c, NpgsqlTransaction tx, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, c, tx);
        cmd.ExecuteNonQuery();
    }

    [GeneratedRegex(@"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")]
    private static partial Regex Bounds();
}
