using Dapper;
using Microsoft.Data.Sqlite;
using Roadmap.Core.Evaluation;
using Roadmap.Storage.Sqlite;

namespace Roadmap.Storage.Tests.Sqlite;

/// <summary>The SQLite backend under test: a real file in a temp folder of its own.</summary>
public sealed class SqliteTestBackend : StorageTestBackend
{
    public TempDatabase Temp { get; } = new();

    public override IRoadmapStorage Open() => RoadmapDatabase.Open(Temp.DatabasePath);

    public override long Count(string table)
    {
        if (table == "samples")
        {
            return Samples().Count;
        }

        using var c = Connection();
        return c.ExecuteScalar<long>($"SELECT count(*) FROM {table};");
    }

    public override long HotSamples()
    {
        using var c = Connection();
        return HotSamplesTable.Count(c);
    }

    public override IReadOnlyList<(long Series, long Ts, double Value)> Samples()
    {
        using var c = Connection();
        var rows = new List<(long, long, double)>();
        using var chunks = new SqliteChunks(c.Handle!);
        var ids = HotSamplesTable.Read(c).Select(h => h.Series).Union(c.Query<long>("SELECT series_id FROM chunks;")).Order();
        foreach (var id in ids)
        {
            chunks.Read(id, long.MinValue / 4, long.MaxValue / 4, p => rows.Add((id, p.TimestampMs, p.Value)));
        }

        return rows;
    }

    public override HashSet<(long Series, long DayStart)> DayChunks()
    {
        using var c = Connection();
        return c.Query<(long, long)>("SELECT series_id, start_ts FROM chunks WHERE end_ts - start_ts = 86400000;").ToHashSet();
    }

    public override Dictionary<(long Series, long Start), SeriesSummary> Rollups(RollupLevel level)
    {
        var result = new Dictionary<(long, long), SeriesSummary>();
        using var c = Connection();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT series_id, start_ts, count, sum, min, max, first_ts, first_value, last_ts, last_value, increase, sketch FROM {level.Table};";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            result[(r.GetInt64(0), r.GetInt64(1))] = SeriesSummary.Restore(r.GetInt64(2), r.GetDouble(3), r.GetDouble(4), r.GetDouble(5), r.GetInt64(6), r.GetDouble(7), r.GetInt64(8), r.GetDouble(9), r.GetDouble(10), QuantileSketch.FromBytes((byte[])r.GetValue(11)));
        }

        return result;
    }

    public override void Execute(string sql)
    {
        using var c = new SqliteConnection($"Data Source={Temp.DatabasePath};Pooling=False");
        c.Open();
        c.Execute(sql);
    }

    protected override void Dispose(bool disposing) => Temp.Dispose();

    /// <summary>A connection of its own, as another process would look at the file.</summary>
    private SqliteConnection Connection()
    {
        var c = new SqliteConnection($"Data Source={Temp.DatabasePath};Mode=ReadOnly;Pooling=False");
        c.Open();
        return c;
    }
}
