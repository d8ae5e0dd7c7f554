using Dapper;
using Microsoft.Data.Sqlite;
using Roadmap.Storage.Sqlite;

namespace Roadmap.Storage.Tests.Sqlite;

/// <summary>
/// SQLite's hot rows (schema v9): the row codec against the tests' own reading of the format
/// (<see cref="HotSamplesTable"/>), and the writes that merge into a stored row or take a series out of one.
/// </summary>
public sealed class HotRowTests : IDisposable
{
    private readonly TempDatabase _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Write_RandomEntries_ReadBackByTheFormatsDescriptionAndByTheCodec(int seed)
    {
        var random = new Random(seed);
        var offsets = Enumerable.Range(0, 40).Select(_ => random.NextInt64(-5, 1L << 40)).Append(0).Append(63).Append(64).Distinct().Order().ToList();
        var entries = offsets.Select(o => (o, random.Next(4) switch { 0 => 0.0, 1 => -random.NextDouble() * 1e300, 2 => double.Epsilon, _ => random.NextDouble() })).ToList();
        var buffer = new byte[entries.Count * HotRow.MaxEntryBytes];
        var n = 0;
        foreach (var (offset, value) in entries)
        {
            n += HotRow.Write(buffer.AsSpan(n), offset, value);
        }

        var data = buffer.AsSpan(0, n).ToArray();

        Assert.Equal(entries, HotSamplesTable.Decode(data));
        Assert.Equal(HotSamplesTable.Encode(entries), data);
        Assert.Equal(entries.Count, HotRow.Count(data));
        Assert.All(entries, e => Assert.True(HotRow.TryGet(data, e.Item1, out var v) && v.Equals(e.Item2)));
        Assert.False(HotRow.TryGet(data, offsets[^1] + 1, out _));
        Assert.False(HotRow.TryGet(data, -6, out _));
    }

    [Fact]
    public void Write_OffsetOfTheFirst64Series_TakesOneByteAndTheValue()
    {
        var buffer = new byte[HotRow.MaxEntryBytes];

        Assert.Equal(9, HotRow.Write(buffer, 63, 1));
        Assert.Equal(10, HotRow.Write(buffer, 64, 1));
    }

    [Theory]
    [InlineData(true, new[] { 7.0, 20, 3, 40 })]
    [InlineData(false, new[] { 7.0, 2, 3, 40 })]
    public void Merge_RowsSharingASeries_KeepsEveryOtherEntryAndTheWinnersValue(bool incomingWins, double[] expected)
    {
        var stored = HotSamplesTable.Encode([(0, 7), (1, 2), (2, 3)]);
        var incoming = HotSamplesTable.Encode([(1, 20), (5, 40)]);

        var merged = HotRow.Merge(stored, incoming, incomingWins);

        Assert.Equal([0L, 1, 2, 5], HotSamplesTable.Decode(merged).Select(e => e.Offset));
        Assert.Equal(expected, HotSamplesTable.Decode(merged).Select(e => e.Value));
    }

    [Fact]
    public void Remove_EachEntry_LeavesTheOthersAndTheLastLeavesNothing()
    {
        var data = HotSamplesTable.Encode([(0, 1), (3, 2), (200, 3)]);

        Assert.Equal([(0L, 1.0), (200L, 3.0)], HotSamplesTable.Decode(HotRow.Remove(data, 3)!));
        Assert.Equal([(3L, 2.0), (200L, 3.0)], HotSamplesTable.Decode(HotRow.Remove(data, 0)!));
        Assert.Equal([(0L, 1.0), (3L, 2.0)], HotSamplesTable.Decode(HotRow.Remove(data, 200)!));
        Assert.Null(HotRow.Remove(data, 4));
        Assert.Empty(HotRow.Remove(HotSamplesTable.Encode([(9, 1)]), 9)!);
    }

    [Theory]
    [InlineData("a cut value", "value is cut short")]
    [InlineData("a cut series", "series is cut short")]
    [InlineData("a series twice", "follows")]
    [InlineData("series out of order", "follows")]
    [InlineData("a series past 64 bits", "series overflows 64 bits at byte 9")]
    public void Read_DamagedRow_IsAStoreFailureThatSaysWhat(string damage, string expected)
    {
        var good = HotSamplesTable.Encode([(1, 1), (2, 2)]);
        var data = damage switch
        {
            "a cut value" => good[..^3],
            "a cut series" => [.. good, 0x80],
            "a series twice" => HotSamplesTable.Encode([(1, 1), (1, 2)]),
            "a series past 64 bits" => [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0],
            _ => HotSamplesTable.Encode([(2, 1), (1, 2)]),
        };

        var e = Assert.Throws<StorageException>(() => HotRow.Count(data));

        Assert.Contains("hot samples row is damaged", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.IsType<InvalidDataException>(e.InnerException);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HotRowWriter_RowsStoredAtTheSameKeyAndTs_MergedInManyRowAndOneRowStatements(bool incomingWins)
    {
        // 40 rows: a multi-row statement and 8 single ones, each way with rows stored before and rows new.
        using var c = Open();
        const int Rows = SamplesTable.InsertManyRows + 8;
        using (var tx = c.BeginTransaction())
        {
            for (var ts = 0; ts < Rows; ts += 3)
            {
                HotSamplesTable.Insert(c, 100, ts, -1, tx);
                HotSamplesTable.Insert(c, 101, ts, -2, tx);
            }

            tx.Commit();
        }

        using (var tx = c.BeginTransaction())
        using (var writer = new HotRowWriter(c.Handle!))
        {
            for (var ts = 0; ts < Rows; ts++)
            {
                writer.Add(100, ts, 101, ts);
                writer.Add(100, ts, 102, ts * 10);
            }

            writer.Flush(incomingWins);
            tx.Commit();
        }

        var hot = HotSamplesTable.Read(c);
        Assert.Equal(Rows, c.ExecuteScalar<long>("SELECT count(*) FROM samples;"));
        Assert.Equal(Enumerable.Range(0, Rows).Where(ts => ts % 3 == 0).Select(ts => (100L, (long)ts, -1.0)), hot.Where(h => h.Series == 100));
        // Series 101 was stored at every third ts: the writer's value replaces it, an import's leaves it.
        Assert.Equal(Enumerable.Range(0, Rows).Select(ts => (101L, (long)ts, ts % 3 == 0 && !incomingWins ? -2.0 : ts)), hot.Where(h => h.Series == 101));
        Assert.Equal(Enumerable.Range(0, Rows).Select(ts => (102L, (long)ts, ts * 10.0)), hot.Where(h => h.Series == 102));
    }

    [Fact]
    public void HotRowWriter_AWriterRunAfterTheStoredRows_ReplacesTheirValuesOfItsSeries()
    {
        using var c = Open();
        HotSamplesTable.Insert(c, 100, 5, 1);
        HotSamplesTable.Insert(c, 101, 5, 2);
        using var writer = new HotRowWriter(c.Handle!);

        writer.Add(100, 5, 101, 20);
        writer.Add(100, 5, 101, 21); // a later sample of the series at the same ts
        writer.Flush(incomingWins: true);

        Assert.Equal([(100L, 5L, 1.0), (101L, 5L, 21.0)], HotSamplesTable.Read(c));
    }

    [Fact]
    public void HotRowWriter_SamplesOutOfKeyOrder_AreRefused()
    {
        using var c = Open();
        using var writer = new HotRowWriter(c.Handle!);
        writer.Add(100, 5, 102, 1);

        Assert.Throws<ArgumentException>(() => writer.Add(100, 5, 101, 1));
        Assert.Throws<ArgumentException>(() => writer.Add(100, 4, 103, 1));
        Assert.Throws<ArgumentException>(() => writer.Add(99, 9, 103, 1));
    }

    [Fact]
    public void TakeHot_OneSeriesOfAKey_TakesItsEntriesAndLeavesTheOthersHot()
    {
        using var c = Open();
        for (var ts = 0; ts < 10; ts++)
        {
            HotSamplesTable.Insert(c, 100, ts, ts);
            if (ts % 2 == 0)
            {
                HotSamplesTable.Insert(c, 101, ts, -ts);
            }
        }

        using var chunks = new SqliteChunks(c.Handle!);
        chunks.Begin();
        var taken = chunks.TakeHot(100, 2, 8);
        // Inside the transaction the taken entries are gone from every read, before their rows are written.
        var during = new List<long>();
        chunks.Read(100, 0, 10, p => during.Add(p.TimestampMs));
        Assert.Equal([0L, 1, 8, 9], during);
        Assert.Equal(8, chunks.OldestHot(100, 2));
        Assert.Empty(chunks.TakeHot(100, 2, 8));
        chunks.Commit();

        Assert.Equal(Enumerable.Range(2, 6).Select(ts => ((long)ts, (double)ts)), taken.Select(p => (p.TimestampMs, p.Value)));
        var hot = HotSamplesTable.Read(c);
        Assert.Equal([0L, 1, 8, 9], hot.Where(h => h.Series == 100).Select(h => h.Ts));
        Assert.Equal([0L, 2, 4, 6, 8], hot.Where(h => h.Series == 101).Select(h => h.Ts));
        // The rows left with no entry (3, 5, 7) are gone; the others lost only the taken series' entry.
        Assert.Equal([0L, 1, 2, 4, 6, 8, 9], c.Query<long>("SELECT ts FROM samples ORDER BY ts;"));
        Assert.Equal(0, chunks.OldestHot(100, 0));
        Assert.Equal(8, chunks.OldestHot(100, 2));
        Assert.Null(chunks.OldestHot(101, 9));
        Assert.InRange(chunks.CountAtMost(100, 0, 8), 2, 5); // at least its entries, at most its key's rows there
    }

    [Fact]
    public void TakeHot_RolledBack_LeavesEveryRowAsItWas()
    {
        using var c = Open();
        for (var ts = 0; ts < 5; ts++)
        {
            HotSamplesTable.Insert(c, 100, ts, ts);
            HotSamplesTable.Insert(c, 101, ts, -ts);
        }

        var before = HotSamplesTable.Read(c);
        using var chunks = new SqliteChunks(c.Handle!);
        chunks.Begin();
        Assert.Equal(5, chunks.TakeHot(100, 0, 5).Count);
        Assert.Equal(5, chunks.TakeHot(101, 0, 5).Count);
        chunks.Rollback();

        Assert.Equal(before, HotSamplesTable.Read(c));
        Assert.Equal(0, chunks.OldestHot(100, 0)); // and this session reads them again
    }

    [Fact]
    public void Read_DamagedRowOfTheSeriesKey_FailsNamingTheRow()
    {
        using var c = Open();
        HotSamplesTable.Insert(c, 100, 5, 1);
        HotSamplesTable.Insert(c, 101, 5, 2);
        c.Execute("UPDATE samples SET data = substr(data, 1, 12) WHERE ts = 5;");
        using var chunks = new SqliteChunks(c.Handle!);

        var e = Assert.Throws<StorageException>(() => chunks.Read(101, 0, 10, _ => { }));

        Assert.Equal("a hot samples row is damaged: an entry's value is cut short at byte 10 (source key 100, ts 5, read for series 101)", e.Message);
        Assert.Equal(StorageHealth.Failing, e.Health);
    }

    /// <summary>A migrated database with two series of source "s" under key 100 (ids 100 and 101) and 102 in it too.</summary>
    private SqliteConnection Open()
    {
        var c = RoadmapDatabase.Open(_temp.DatabasePath).OpenConnection();
        c.Execute("INSERT INTO series (id, source, signal, source_key) VALUES (100, 's', 'a', 100), (101, 's', 'b', 100), (102, 's', 'c', 100);");
        return c;
    }
}
