using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Roadmap.Core.Evaluation;
using Roadmap.Storage.Sqlite;

namespace Roadmap.Storage.Tests.Sqlite;

// The shared storage tests on the SQLite backend, each class with the tests only SQLite has: its locks, its migrations
// from released schemas, its row-by-row retention.

public sealed class SqliteSampleReadSessionTests() : SampleReadSessionTests(new SqliteTestBackend());

public sealed class SqliteBatchedWriterTests() : BatchedWriterTests(new SqliteTestBackend())
{
    protected override int RowsPerInsertStatement => SamplesTable.InsertManyRows;

    private TempDatabase Temp => ((SqliteTestBackend)Backend).Temp;

    [Fact]
    public void AppendEvaluations_OnTheWritersSession_KeepsItsPageCache_WhereAnotherConnectionsCommitDropsIt()
    {
        var db = RoadmapDatabase.Open(Temp.DatabasePath);
        using var session = (SqliteWriteSession)db.OpenWriteSession(new StorageOptions(), TimeProvider.System);
        var ids = new long[2000];
        var second = 0;
        // One batch: a sample of each of 2,000 sources' one series, a second after the last batch's.
        int Batch()
        {
            var before = session.CacheMisses;
            session.Begin();
            var ts = T0.AddSeconds(second++).ToUnixTimeMilliseconds();
            var rows = new SeriesSample[ids.Length];
            for (var i = 0; i < ids.Length; i++)
            {
                if (ids[i] == 0)
                {
                    ids[i] = session.SeriesId($"s{i:D4}", "up");
                }

                rows[i] = new SeriesSample(ids[i], ts, i, i);
            }

            Array.Sort(rows);
            session.InsertSamples(rows);
            session.Commit();
            return session.CacheMisses - before;
        }

        for (var i = 0; i < 5; i++)
        {
            Batch();
        }

        var warm = Batch();
        KpiEvaluation[] history = [Evaluation("p95", T0, 1.5)];
        session.Begin();
        session.AppendEvaluations(history);
        session.Commit();
        var afterOwn = Batch();
        db.Evaluations.Append(history);
        var afterForeign = Batch();

        Assert.Equal(2, db.Evaluations.History("frontend", "p95", T0, T0).Count);
        // The samples' pages were cached by the batches before; another connection's commit makes the writer read
        // every page it touches again.
        Assert.True(warm >= 0 && afterOwn <= warm, $"after its own append the batch read {afterOwn} pages (warm: {warm})");
        Assert.True(afterForeign >= afterOwn + 20, $"after another connection's commit the batch read {afterForeign} pages (after its own: {afterOwn})");
    }

    [Fact]
    public async Task AppendEvaluations_DatabaseLockedByAnotherConnection_FailsAfterTheBusyTimeoutAndStoresNothing()
    {
        var busy = TimeSpan.FromMilliseconds(500);
        await using var writer = NewWriter(new StorageOptions { FlushInterval = TimeSpan.FromMilliseconds(50), BusyTimeout = busy });
        writer.Start();
        var db = RoadmapDatabase.Open(Temp.DatabasePath);
        using (var other = db.OpenConnection())
        using (var tx = other.BeginTransaction(deferred: false))
        {
            var waited = System.Diagnostics.Stopwatch.StartNew();
            var e = Assert.Throws<StorageException>(() => writer.AppendEvaluations([Evaluation("p95", T0, 1.5)]));
            waited.Stop();

            Assert.Equal(StorageHealth.Locked, e.Health);
            // The round waits for the lock as long as the writer would, not for the append's own bound (30 s).
            Assert.True(waited.Elapsed >= busy * 0.9 && waited.Elapsed < BatchedWriter.AppendWait / 2, $"waited {waited.Elapsed}");
            tx.Rollback();
        }

        Assert.Empty(db.Evaluations.History("frontend", "p95", T0, T0));
        Assert.True(writer.AppendEvaluations([Evaluation("p95", T0, 1.5)]));
        Assert.Single(db.Evaluations.History("frontend", "p95", T0, T0));
    }

    [Fact]
    public async Task Writer_DatabaseLockedByAnotherConnection_WaitsAndWritesOnceReleased()
    {
        await using var writer = NewWriter(new StorageOptions { FlushInterval = TimeSpan.FromMilliseconds(50) });
        writer.Start();
        using var other = RoadmapDatabase.Open(Temp.DatabasePath).OpenConnection();
        using var tx = other.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: holds the write lock
        other.Execute("INSERT INTO polls (source, ts, duration_ms, outcome) VALUES ('other', 0, 0, 'success');", transaction: tx);

        writer.TryEnqueue(Poll("web", 0, true, ("up", 1)));
        var flush = writer.FlushAsync();
        await Task.Delay(300);
        Assert.False(flush.IsCompleted);
        tx.Commit();

        await flush.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, RoadmapDatabase.Open(Temp.DatabasePath).Samples.CountPolls("web"));
        Assert.Equal(0, writer.PollsDropped);
    }

    [Fact]
    public async Task Writer_SamplesOfOneSource_LieUnderItsFirstSeriesIdAndOtherSourcesUnderTheirOwn()
    {
        // The samples stay hot (the compactor would seal T0's closed hour into chunks).
        await using (var writer = NewWriter(new StorageOptions { CompactGrace = TimeSpan.FromDays(3650) }))
        {
            writer.Start();
            writer.TryEnqueue(Poll("web", 0, true, ("up", 1), ("latency_seconds", 0.2), ("status_code", 200)));
            writer.TryEnqueue(Poll("api", 0, true, ("up", 0)));
            await writer.FlushAsync();
            // A signal the source yields later gets an id after the other source's: it still joins its source.
            writer.TryEnqueue(Poll("web", 1, true, ("up", 1), ("bytes", 512)));
            await writer.FlushAsync();
        }

        var db = RoadmapDatabase.Open(Temp.DatabasePath);
        using var c = db.OpenConnection();
        var series = c.Query<(long Id, string Source, string Signal, long Key)>("SELECT id, source, signal, source_key FROM series ORDER BY id;").AsList();
        Assert.Equal(5, series.Count);
        var webFirst = series.Where(r => r.Source == "web").Min(r => r.Id);
        var apiFirst = series.Single(r => r.Source == "api").Id;
        Assert.All(series, r => Assert.Equal(r.Source == "web" ? webFirst : apiFirst, r.Key));
        Assert.NotEqual(webFirst, apiFirst);
        Assert.True(series.Single(r => r.Signal == "bytes").Id > apiFirst);
        var hot = HotSamplesTable.Read(c);
        Assert.Equal(6, hot.Count);
        Assert.Equal(3, c.ExecuteScalar<long>("SELECT count(*) FROM samples;")); // a row per poll: web twice, api once
        Assert.All(hot, h => Assert.Contains(series, r => r.Id == h.Series));
        Assert.Equal([512.0], db.Samples.Read("web", "bytes", T0, T0.AddMinutes(1)).Select(p => p.Value));
        Assert.Equal([1.0, 1.0], db.Samples.Read("web", "up", T0, T0.AddMinutes(1)).Select(p => p.Value));
        Assert.Equal([0.0], db.Samples.Read("api", "up", T0, T0.AddMinutes(1)).Select(p => p.Value));
    }

    [Fact]
    public async Task Writer_SourceWithMoreSignalsThanAKeyGroups_StoresThemSixteenToAKey()
    {
        var signals = Enumerable.Range(0, 20).Select(k => ($"s{k:D2}", (double)k)).ToArray();
        await using (var writer = NewWriter(new StorageOptions { CompactGrace = TimeSpan.FromDays(3650) }))
        {
            writer.Start();
            writer.TryEnqueue(Poll("many", 0, true, signals));
            writer.TryEnqueue(Poll("many", 1, true, signals));
            await writer.FlushAsync();
        }

        var db = RoadmapDatabase.Open(Temp.DatabasePath);
        using var c = db.OpenConnection();
        var keyOf = c.Query<(long Id, long Key)>("SELECT id, source_key FROM series;").ToDictionary(r => r.Id, r => r.Key);
        var keys = HotSamplesTable.Read(c).GroupBy(h => keyOf[h.Series]).OrderBy(g => g.Key)
            .Select(g => (Key: g.Key, Series: (long)g.Select(h => h.Series).Distinct().Count(), Samples: (long)g.Count())).AsList();
        // Two polls, each a row in each of the two keys.
        Assert.Equal([2L, 2L], c.Query<long>("SELECT count(*) FROM samples GROUP BY source_key ORDER BY source_key;"));
        Assert.Equal([SamplesTable.SeriesPerSourceKey, 20 - SamplesTable.SeriesPerSourceKey], keys.Select(k => k.Series));
        Assert.Equal(40, keys.Sum(k => k.Samples));
        Assert.All(signals, s => Assert.Equal([s.Item2, s.Item2], db.Samples.Read("many", s.Item1, T0, T0.AddMinutes(1)).Select(p => p.Value)));
    }

    [Fact]
    public void WriteSession_KeepsStatementJournalsInMemory_NotInATemporaryFile()
    {
        // Every 64-row insert of a batch journals the pages it changes; in a temporary file that was about half of the
        // writer's write calls. SQLite's temp_store: 0 default (file), 1 file, 2 memory.
        using var session = (SqliteWriteSession)RoadmapDatabase.Open(Temp.DatabasePath).OpenWriteSession(new StorageOptions(), TimeProvider.System);
        Assert.Equal(2, session.PragmaValue("temp_store"));
    }
}

public sealed class SqliteCompactionTests() : CompactionTests(new SqliteTestBackend());

public sealed class SqliteRollupTests() : RollupTests(new SqliteTestBackend())
{
    private TempDatabase Temp => ((SqliteTestBackend)Backend).Temp;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Summarize_NewestHourRowBehindItsSamples_ReadsTheSamplesAfterTheRowRaw(bool openHourEmpty)
    {
        // The writer rewrites a series' newest hour row only now and then: a read takes that row up to its last sample
        // and the samples stored after it raw. Shown with the open hour's row behind, and with the open hour empty and
        // the whole hour before it behind (the last samples of an hour that has just ended).
        var (db, now) = await OpenHourAsync();
        var hour = RollupLevel.Hour.StartOf(now.ToUnixTimeMilliseconds());
        var series = Backend.Rollups(RollupLevel.Hour).Keys.Single(k => k.Start == hour).Series;
        if (openHourEmpty)
        {
            Backend.Execute(FormattableString.Invariant($"DELETE FROM samples WHERE ts >= {hour}; DELETE FROM rollups_hour WHERE start_ts >= {hour};"));
            LagHourRow(db, series, hour - RollupLevel.Hour.SizeMs, hour - (20 * 60_000));
        }
        else
        {
            LagHourRow(db, series, hour, hour + (10 * 60_000));
        }

        foreach (var (fromMinutes, reads) in new (int, WindowReads)[]
        {
            (-2 * 24 * 60, WindowReads.Exact),
            (-2 * 24 * 60, WindowReads.OpenEnded),
            (-95, WindowReads.SketchQuantiles),
            (-150, WindowReads.SketchQuantiles | WindowReads.OpenEnded),
        })
        {
            var from = now.AddMinutes(fromMinutes);
            var exact = SeriesSummary.FromPoints(db.Samples.Read("web", "latency", from, now));
            var got = Round(db, from, now, reads);
            Assert.True(exact.Count > 100, $"{exact.Count} samples");
            AssertSameNumbers(exact, got);
            Assert.Equal(exact.Sketch.ToBytes(), got.Sketch.ToBytes());
        }
    }

    [Fact]
    public async Task Summarize_ShortWindowWithSketchQuantiles_ReadsItsWholeHoursFromTheirRollups()
    {
        // Shown as above: the raw samples of the window's whole hour removed behind the library's back, the read that
        // may use the hour's rollup still counts them; the exact read does not.
        var (db, now) = await OpenHourAsync();
        var from = now.AddMinutes(-95);
        var hour = RollupLevel.Hour.StartOf(now.ToUnixTimeMilliseconds()) - RollupLevel.Hour.SizeMs;
        var before = Round(db, from, now);

        Backend.Execute(FormattableString.Invariant($"DELETE FROM samples WHERE ts >= {hour} AND ts < {hour + RollupLevel.Hour.SizeMs};"));
        var sketched = Round(db, from, now, WindowReads.SketchQuantiles);
        var exact = Round(db, from, now);

        Assert.Equal(90 * 6, before.Count);
        Assert.Equal(before.Count - 360, exact.Count);
        AssertSameNumbers(before, sketched);
        Assert.Equal(before.Sketch.ToBytes(), sketched.Sketch.ToBytes());
        Assert.Null(sketched.ExactValues);
    }

    [Theory]
    [InlineData(-20, false)] // inside one hour: raw
    [InlineData(-95, false)] // a whole hour inside: the open hour from its rollup
    [InlineData(-95, true)]
    [InlineData(-2 * 24 * 60, false)] // longer than a day
    public async Task Summarize_OpenEnded_CountsTheSamplesStoredAfterTheWindowsEnd(int fromMinutes, bool sketchQuantiles)
    {
        // A window that ends at a round's time may count the polls stored while the round runs: those after its end.
        var (db, now) = await OpenHourAsync();
        var from = now.AddMinutes(fromMinutes);
        var to = now.AddMinutes(-5);
        var all = db.Samples.Read("web", "latency", from, now);
        var reads = WindowReads.OpenEnded | (sketchQuantiles ? WindowReads.SketchQuantiles : WindowReads.Exact);

        var open = Round(db, from, to, reads);
        var closed = Round(db, from, to);

        var exact = SeriesSummary.FromPoints(all);
        AssertSameNumbers(exact, open);
        Assert.Equal(exact.Sketch.ToBytes(), open.Sketch.ToBytes());
        Assert.Equal(all.Count(p => p.TimestampMs <= to.ToUnixTimeMilliseconds()), closed.Count);
        Assert.True(closed.Count < all.Count - 20, $"{closed.Count} of {all.Count}");
    }

    [Fact]
    public async Task Summarize_WindowEndingAfterItsOpenHoursLastSample_ReadsThatHourFromItsRollupNotItsSamples()
    {
        // The open hour of a window that ends now comes from its hour rollup (stored in the same transaction as the
        // hour's samples), not from up to 3,600 raw samples per KPI each round. Shown by removing the hour's raw
        // samples behind the library's back: the rollup still answers for them, to the sketch's last byte.
        var (db, now) = await OpenHourAsync();
        var from = now.AddDays(-2);
        var points = db.Samples.Read("web", "latency", from, now);
        var before = Round(db, from, now);
        var hot = Backend.HotSamples();

        Backend.Execute(FormattableString.Invariant($"DELETE FROM samples WHERE ts >= {RollupLevel.Hour.StartOf(now.ToUnixTimeMilliseconds())};"));
        var after = Round(db, from, now);

        Assert.Equal(90 * 6, points.Count);
        Assert.Equal(hot - (30 * 6), Backend.HotSamples()); // the open hour's 180 samples are gone from the table
        var exact = SeriesSummary.FromPoints(points);
        AssertSameNumbers(exact, before);
        AssertSameNumbers(exact, after);
        Assert.Equal(exact.Sketch.ToBytes(), after.Sketch.ToBytes());
    }

    [Fact]
    public void Open_VersionEightDatabase_MovesEverySampleIntoARowPerKeyAndTs()
    {
        // The v8 samples table (a row per sample, keyed by source_key, ts, series_id): web's two series under web's
        // key, api's under its own, a series without a row under its own id, values of every kind.
        var t0 = T0.ToUnixTimeMilliseconds();
        var stored = new List<(long Key, long Series, long Ts, double Value)>();
        using (var c = RoadmapDatabase.Open(Temp.DatabasePath).OpenConnection())
        {
            c.Execute(
                """
                DROP TABLE samples;
                CREATE TABLE samples (source_key INTEGER NOT NULL, ts INTEGER NOT NULL, series_id INTEGER NOT NULL, value REAL NOT NULL,
                    PRIMARY KEY (source_key, ts, series_id)) WITHOUT ROWID;
                DELETE FROM schema_version WHERE version >= 9;
                INSERT INTO series (id, source, signal, source_key) VALUES (1, 'web', 'up', 1), (2, 'api', 'up', 2), (300, 'web', 'latency_seconds', 1);
                """);
            double[] values = [0, -1.5, double.MaxValue, double.Epsilon, 1e-300, 42];
            for (var i = 0; i < 60; i++)
            {
                stored.Add((1, 1, t0 + (i * 1000L), i % 2));
                stored.Add((1, 300, t0 + (i * 1000L), values[i % values.Length]));
                stored.Add((2, 2, t0 + (i * 1000L) + 500, i));
                if (i % 3 == 0)
                {
                    stored.Add((9, 9, t0 + (i * 1000L), -i));
                }
            }

            c.Execute("INSERT INTO samples (source_key, ts, series_id, value) VALUES (@Key, @Ts, @Series, @Value);", stored.Select(r => new { r.Key, r.Ts, r.Series, r.Value }));
        }

        var db = RoadmapDatabase.Open(Temp.DatabasePath);

        Assert.Equal(Migrations.Latest, db.SchemaVersion);
        using var c2 = db.OpenConnection();
        Assert.Equal(
            stored.Select(r => (r.Series, r.Ts, r.Value)).OrderBy(r => r),
            HotSamplesTable.Read(c2).OrderBy(r => r));
        Assert.Equal(
            [(1L, 60L), (2L, 60L), (9L, 20L)],
            c2.Query<(long, long)>("SELECT source_key, count(*) FROM samples GROUP BY 1 ORDER BY 1;"));
        Assert.Equal(
            stored.Where(r => r.Series == 300).Select(r => r.Value),
            db.Samples.Read("web", "latency_seconds", T0, T0.AddMinutes(5)).Select(p => p.Value));
        Assert.Equal(60, db.Samples.Read("api", "up", T0, T0.AddMinutes(5)).Count);
    }

    [Fact]
    public void Open_VersionSevenDatabase_MovesEverySampleUnderItsSourcesKey()
    {
        // The v7 samples table (clustered by series, ts), two sources, and samples of a series id without a row.
        using (var c = RoadmapDatabase.Open(Temp.DatabasePath).OpenConnection())
        {
            c.Execute(
                """
                ALTER TABLE series DROP COLUMN source_key;
                DROP TABLE samples;
                CREATE TABLE samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
                DELETE FROM schema_version WHERE version >= 8;
                INSERT INTO series (id, source, signal) VALUES (1, 'web', 'up'), (2, 'api', 'up'), (3, 'web', 'latency_seconds');
                """);
            // A source with more series than a key groups: 16 to a key, in id order.
            c.Execute("INSERT INTO series (id, source, signal) VALUES (@id, 'many', 's' || @id);", Enumerable.Range(10, 20).Select(id => new { id }));
            var t0 = T0.ToUnixTimeMilliseconds();
            for (var i = 0; i < 100; i++)
            {
                c.Execute(
                    "INSERT INTO samples (series_id, ts, value) VALUES (1, @ts, 1), (2, @ts, 0), (3, @ts, @l), (9, @ts, @i);",
                    new { ts = t0 + (i * 1000L), l = i / 100.0, i });
            }
        }

        var db = RoadmapDatabase.Open(Temp.DatabasePath);

        Assert.Equal(Migrations.Latest, db.SchemaVersion);
        using var c2 = db.OpenConnection();
        Assert.Equal(
            [(1L, 1L), (2L, 2L), (3L, 1L), .. Enumerable.Range(10, 20).Select(id => ((long)id, id < 26 ? 10L : 26L))],
            c2.Query<(long, long)>("SELECT id, source_key FROM series ORDER BY id;"));
        Assert.Equal(
            [(1L, 100L, 100.0), (2L, 100L, 0.0), (3L, 100L, 49.5), (9L, 100L, 4950.0)],
            HotSamplesTable.Read(c2).GroupBy(h => h.Series).OrderBy(g => g.Key).Select(g => (g.Key, (long)g.Count(), g.Sum(h => h.Value))));
        // web's two series share a row per ts under web's key; api and the series without a row have their own keys.
        Assert.Equal(
            [(1L, 100L), (2L, 100L), (9L, 100L)],
            c2.Query<(long, long)>("SELECT source_key, count(*) FROM samples GROUP BY 1 ORDER BY 1;"));
        var latency = db.Samples.Read("web", "latency_seconds", T0, T0.AddMinutes(5));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i / 100.0), latency.Select(p => p.Value));
        Assert.Equal(100, db.Samples.Read("api", "up", T0, T0.AddMinutes(5)).Count);
    }

    [Fact]
    public void Open_VersionTwoDatabase_KeepsEverySampleLastDuplicateWinsAndBuildsRollups()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Temp.DatabasePath)!);
        using (var c = new SqliteConnection($"Data Source={Temp.DatabasePath};Pooling=False"))
        {
            c.Open();
            // The v1 and v2 schema as released.
            c.Execute(
                """
                CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
                INSERT INTO schema_version VALUES (1, 0), (2, 0);
                CREATE TABLE series (id INTEGER PRIMARY KEY, source TEXT NOT NULL, signal TEXT NOT NULL, UNIQUE (source, signal));
                CREATE TABLE samples (series_id INTEGER NOT NULL REFERENCES series (id), ts INTEGER NOT NULL, value REAL NOT NULL);
                CREATE INDEX samples_by_series_ts ON samples (series_id, ts);
                CREATE TABLE polls (id INTEGER PRIMARY KEY, source TEXT NOT NULL, ts INTEGER NOT NULL, duration_ms REAL NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('success', 'failure')), reason TEXT);
                CREATE INDEX polls_by_source_ts ON polls (source, ts);
                CREATE TABLE evaluations (initiative TEXT NOT NULL, kpi TEXT NOT NULL, ts INTEGER NOT NULL, value REAL, target REAL, status TEXT NOT NULL);
                CREATE INDEX evaluations_by_kpi_ts ON evaluations (initiative, kpi, ts);
                CREATE TABLE baselines (initiative TEXT NOT NULL, kpi TEXT NOT NULL, from_date TEXT NOT NULL, to_date TEXT NOT NULL,
                    definition TEXT NOT NULL, value REAL NOT NULL, samples INTEGER NOT NULL, computed_at INTEGER NOT NULL,
                    PRIMARY KEY (initiative, kpi, from_date, to_date, definition));
                INSERT INTO series (id, source, signal) VALUES (1, 'web', 'up'), (2, 'web', 'latency_seconds');
                INSERT INTO polls (source, ts, duration_ms, outcome) VALUES ('web', 1, 5, 'success');
                INSERT INTO evaluations VALUES ('i', 'k', 1, 0.5, 1, 'missed');
                """);
            var t0 = T0.ToUnixTimeMilliseconds();
            for (var i = 0; i < 200; i++)
            {
                c.Execute("INSERT INTO samples (series_id, ts, value) VALUES (1, @ts, @v), (2, @ts, @l);", new { ts = t0 + (i * 60_000L), v = i % 7 == 0 ? 0 : 1, l = i / 100.0 });
            }

            c.Execute("INSERT INTO samples (series_id, ts, value) VALUES (2, @ts, 42);", new { ts = t0 + 60_000L }); // a duplicate ts, inserted last
        }

        var db = RoadmapDatabase.Open(Temp.DatabasePath);

        Assert.Equal(Migrations.Latest, db.SchemaVersion);
        var reader = db.Samples;
        var up = reader.Read("web", "up", T0, T0.AddDays(1));
        Assert.Equal(200, up.Count);
        Assert.Equal(200 - 29, up.Sum(p => p.Value));
        var latency = reader.Read("web", "latency_seconds", T0, T0.AddDays(1));
        Assert.Equal(200, latency.Count);
        Assert.Equal(42, latency[1].Value);
        Assert.Equal(1, reader.CountPolls("web"));
        using var c2 = db.OpenConnection();
        Assert.Equal(1, c2.ExecuteScalar<long>("SELECT count(*) FROM evaluations;"));
        Assert.Equal(200, c2.ExecuteScalar<long>("SELECT sum(count) FROM rollups_hour WHERE series_id = 1;"));
        Assert.Equal(200 - 29, c2.ExecuteScalar<double>("SELECT sum(sum) FROM rollups_day WHERE series_id = 1;"));
        Assert.Equal(4, c2.ExecuteScalar<long>("SELECT count(*) FROM rollups_hour WHERE series_id = 2;")); // 200 minutes: hours 0..3
    }

    [Fact]
    public async Task Read_WhileTheCompactorSealsTheSameHour_NeverMissesACommittedSample()
    {
        // One process seals a closed hour again and again (a late sample each time, then a compaction step, which moves
        // the hot row into the hour's chunk); a reader reads that hour meanwhile. Every sample committed before a read
        // started must be in it, whichever side of a seal the read's statements fall on.
        var db = RoadmapDatabase.Open(Temp.DatabasePath);
        var committed = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var sealer = Task.Run(() =>
        {
            using var session = db.OpenWriteSession(new StorageOptions { CompactInterval = TimeSpan.Zero }, new FakeTimeProvider(T0.AddHours(2)));
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                session.Begin();
                var id = session.SeriesId("web", "up");
                session.InsertSamples([new SeriesSample(id, T0.ToUnixTimeMilliseconds() + i, 1, 0)]);
                session.Commit();
                Interlocked.Increment(ref committed);
                while (session.Compact().Chunks > 0)
                {
                }
            }
        });

        var reads = 0;
        using (var reader = db.Samples.OpenSession())
        {
            while (!sealer.IsCompleted)
            {
                var before = Volatile.Read(ref committed);
                var seen = reader.Read("web", "up", T0, T0.AddHours(1)).Count;
                Assert.True(seen >= before, $"read {reads}: {seen} samples, {before} were committed before it started");
                reads++;
            }
        }

        await sealer;
        Assert.True(reads > 100, $"only {reads} reads");
        Assert.True(committed > 100, $"only {committed} seals");
    }

    [Fact]
    public async Task RetentionStep_OldAndNewData_DeletesOnlyWhatIsOlderInSmallBatches()
    {
        var time = new FakeTimeProvider(T0);
        var db = RoadmapDatabase.Open(Temp.DatabasePath);
        var options = new StorageOptions { RawRetention = TimeSpan.FromDays(2), RollupRetention = TimeSpan.FromDays(3), PruneBatchRows = 100, PruneInterval = TimeSpan.FromDays(365) };
        // The samples stay hot (nothing is ever closed for this writer's compactor): this is about rows.
        await using (var writer = NewWriter(db, new StorageOptions { CompactGrace = TimeSpan.FromDays(3650) }))
        {
            writer.Start();
            // One sample a minute for 5 days before "now".
            for (var m = 5 * 24 * 60; m > 0; m--)
            {
                writer.TryEnqueue(Poll(T0.AddMinutes(-m).ToUnixTimeMilliseconds(), ("up", 1)));
            }
        }

        var retention = new Retention(options, time);
        using var c = db.OpenConnection();
        var steps = new List<int>();
        while (retention.Step(c) is var n && n > 0)
        {
            steps.Add(n);
            Assert.True(steps.Count < 1000, "retention never finished");
        }

        Assert.All(steps, n => Assert.InRange(n, 1, 100));
        var rawCut = T0.AddDays(-2).ToUnixTimeMilliseconds();
        Assert.Equal(0, c.ExecuteScalar<long>("SELECT count(*) FROM samples WHERE ts < @rawCut;", new { rawCut }));
        Assert.Equal(2 * 24 * 60, HotSamplesTable.Count(c));
        Assert.Equal(0, c.ExecuteScalar<long>("SELECT count(*) FROM polls WHERE ts < @rawCut;", new { rawCut }));
        Assert.Equal(2 * 24 * 60, c.ExecuteScalar<long>("SELECT count(*) FROM polls;"));
        var rollupCut = T0.AddDays(-3).ToUnixTimeMilliseconds();
        Assert.Equal(3 * 24, c.ExecuteScalar<long>("SELECT count(*) FROM rollups_hour;"));
        Assert.Equal(rollupCut, c.ExecuteScalar<long>("SELECT min(start_ts) FROM rollups_hour;"));
        Assert.Equal(3, c.ExecuteScalar<long>("SELECT count(*) FROM rollups_day;"));
        Assert.Equal(4320 + 4320 + 48 + 2, retention.RowsDeleted); // samples, polls, hours, days
        // Day rollups went: readers that kept them merged must read again (ClosedDaysCache).
        Assert.True(c.ExecuteScalar<long>("SELECT closed_days_version FROM series;") > 0);
        Assert.Equal(0, retention.Step(c)); // done until the next sweep

        // Past the edge of raw retention, the edge hour's rollup stands in for its pruned raw samples: the whole
        // hour counts, including the 30 minutes before the window (the documented approximation).
        var summary = db.Samples.Summarize("web", "up", T0.AddDays(-2.5).AddMinutes(30), T0);
        Assert.Equal((long)(2.5 * 24 * 60), summary.Count);
    }

    [Fact]
    public async Task RetentionStep_OldSamplesOfASourcesSecondSeries_FoundUnderItsSourcesKeyAndOnlyTheyGo()
    {
        var time = new FakeTimeProvider(T0);
        var db = RoadmapDatabase.Open(Temp.DatabasePath);
        var options = new StorageOptions { RawRetention = TimeSpan.FromDays(2), PruneBatchRows = 100, PruneInterval = TimeSpan.FromDays(365) };
        await using (var writer = NewWriter(db, new StorageOptions { CompactGrace = TimeSpan.FromDays(3650) }))
        {
            writer.Start();
            // "web" polls up and latency for 10 minutes 3 days ago, then only up for the last 10 minutes; "api" only
            // recently. latency is web's second series: its samples lie under web's key, not its own id.
            for (var m = 0; m < 10; m++)
            {
                writer.TryEnqueue(Poll(T0.AddDays(-3).AddMinutes(m).ToUnixTimeMilliseconds(), ("up", 1), ("latency", 0.1)));
                writer.TryEnqueue(Poll(T0.AddMinutes(-m - 1).ToUnixTimeMilliseconds(), ("up", 1)));
                writer.TryEnqueue(new PollRecord("api", T0.AddMinutes(-m - 1).ToUnixTimeMilliseconds(), 0.01, true, null, [new SignalSample("up", 1)]));
            }
        }

        using var c = db.OpenConnection();
        var latency = c.ExecuteScalar<long>("SELECT id FROM series WHERE source = 'web' AND signal = 'latency';");
        Assert.NotEqual(latency, c.ExecuteScalar<long>("SELECT source_key FROM series WHERE id = @latency;", new { latency }));
        var retention = new Retention(options, time);
        while (retention.Due)
        {
            retention.Step(c);
        }

        var rawCut = T0.AddDays(-2).ToUnixTimeMilliseconds();
        var hot = HotSamplesTable.Read(c);
        Assert.Equal(0, c.ExecuteScalar<long>("SELECT count(*) FROM samples WHERE ts < @rawCut;", new { rawCut }));
        Assert.DoesNotContain(hot, h => h.Series == latency);
        Assert.Equal(20, hot.Count);
        Assert.Equal(0, c.ExecuteScalar<long>("SELECT count(*) FROM polls WHERE ts < @rawCut;", new { rawCut }));
        Assert.Equal(20, c.ExecuteScalar<long>("SELECT count(*) FROM polls;"));
        Assert.Equal(10 + 10, retention.RowsDeleted); // web's hot rows (up and latency in one a poll), polls
    }

    /// <summary>One sample a minute of "up" for <paramref name="days"/> days before T0, then sealed: a chunk per day.</summary>
    private async Task<RoadmapDatabase> SealedMinutesAsync(int days)
    {
        var db = RoadmapDatabase.Open(Temp.DatabasePath);
        await using (var writer = NewWriter(db, new StorageOptions { CompactGrace = TimeSpan.FromDays(3650) }))
        {
            writer.Start();
            for (var m = days * 24 * 60; m > 0; m--)
            {
                writer.TryEnqueue(Poll(T0.AddMinutes(-m).ToUnixTimeMilliseconds(), ("up", 1)));
            }
        }

        using (var session = db.OpenWriteSession(new StorageOptions(), new FakeTimeProvider(T0.AddHours(1))))
        {
            while (session.Compact().Chunks > 0)
            {
            }
        }

        return db;
    }

    [Fact]
    public async Task RetentionStep_CompactedData_DeletesWholeChunksOnceAllOfTheirRangeIsOlder()
    {
        var time = new FakeTimeProvider(T0);
        var db = await SealedMinutesAsync(5);

        // The cut falls at noon: the day chunk it falls in is kept whole.
        var retention = new Retention(new StorageOptions { RawRetention = TimeSpan.FromDays(2.5), PruneInterval = TimeSpan.FromDays(365) }, time);
        using var c = db.OpenConnection();
        Assert.Equal(5, c.ExecuteScalar<long>("SELECT count(*) FROM chunks;"));
        while (retention.Step(c) > 0)
        {
        }

        Assert.Equal(3, c.ExecuteScalar<long>("SELECT count(*) FROM chunks;"));
        Assert.Equal(T0.AddDays(-3).ToUnixTimeMilliseconds(), c.ExecuteScalar<long>("SELECT min(start_ts) FROM chunks;"));
        Assert.Equal(3 * 24 * 60, db.Samples.Read("web", "up", T0.AddDays(-10), T0).Count);
    }

    [Fact]
    public async Task RetentionStep_DayChunkPastRawRetention_DerivesTheHourRollupsTheWriterHadWritten()
    {
        var db = RoadmapDatabase.Open(Temp.DatabasePath);
        var neverCompact = new StorageOptions { CompactGrace = TimeSpan.FromDays(3650) };
        var random = new Random(5);
        var generated = new SortedDictionary<long, double>();
        await using (var writer = NewWriter(db, neverCompact))
        {
            writer.Start();
            // Latency-like values about once a minute for 5 days before "now".
            for (var m = 5 * 24 * 60; m > 0; m--)
            {
                var ts = T0.AddMinutes(-m).AddMilliseconds(random.Next(0, 900)).ToUnixTimeMilliseconds();
                generated[ts] = Math.Round(Math.Exp(random.NextDouble() * 3), 6);
                writer.TryEnqueue(Poll(ts, ("latency", generated[ts])));
            }
        }

        var written = Backend.Rollups(RollupLevel.Hour);
        using (var session = db.OpenWriteSession(new StorageOptions(), new FakeTimeProvider(T0.AddHours(1))))
        {
            while (session.Compact().Chunks > 0)
            {
            }
        }

        Assert.Empty(Backend.Rollups(RollupLevel.Hour)); // every day sealed: its chunk answers for its hours

        // A late sample into a sealed day stays hot and leaves an hour row behind: the writer reads the hour back from
        // the day's chunk and the late sample, so the row is whole (readers ignore it: the chunk answers for the day).
        var late = T0.AddDays(-4).AddHours(7).AddSeconds(30).ToUnixTimeMilliseconds();
        generated[late] = 1234.5;
        await using (var writer = NewWriter(db, neverCompact))
        {
            writer.Start();
            writer.TryEnqueue(Poll(late, ("latency", 1234.5)));
        }

        var lateHour = (Series: 1L, Start: RollupLevel.Hour.StartOf(late));
        Assert.Equal(generated.Keys.Count(ts => RollupLevel.Hour.StartOf(ts) == lateHour.Start), Backend.Rollups(RollupLevel.Hour)[lateHour].Count);

        // Raw samples kept 2.5 days (the chunks of days -5 and -4 go), rollups 4.75 days (day -5's first 6 hours are
        // past it).
        var retention = new Retention(new StorageOptions { RawRetention = TimeSpan.FromDays(2.5), RollupRetention = TimeSpan.FromDays(4.75), PruneInterval = TimeSpan.FromDays(365) }, new FakeTimeProvider(T0));
        using (var c = db.OpenConnection())
        {
            while (retention.Step(c) > 0)
            {
            }

            Assert.Equal(T0.AddDays(-3).ToUnixTimeMilliseconds(), c.ExecuteScalar<long>("SELECT min(start_ts) FROM chunks;"));
        }

        var hours = Backend.Rollups(RollupLevel.Hour);
        var rollupCut = T0.AddDays(-4.75).ToUnixTimeMilliseconds();
        var rawCut = T0.AddDays(-3).ToUnixTimeMilliseconds();
        Assert.Equal(written.Keys.Where(k => k.Start >= rollupCut && k.Start < rawCut).Order(), hours.Keys.Order());
        foreach (var (key, got) in hours)
        {
            var want = key == lateHour
                ? SeriesSummary.FromPoints(generated.Where(p => RollupLevel.Hour.StartOf(p.Key) == key.Start).Select(p => new Point(p.Key, p.Value)))
                : written[key];
            AssertSameNumbers(want, got);
            Assert.Equal(want.Sketch.ToBytes(), got.Sketch.ToBytes());
        }

        // A window whose start edge is in a day whose raw samples are gone: hour precision, as before.
        using var reader = db.Samples.OpenSession();
        foreach (var (from, edgeHour) in new[] { (T0.AddDays(-4).AddHours(5), T0.AddDays(-4).AddHours(5)), (T0.AddDays(-4).AddHours(5.5), T0.AddDays(-4).AddHours(5)) })
        {
            var to = T0.AddHours(-1).AddMinutes(-13);
            var summary = reader.Summarize("web", "latency", from, to);
            Assert.Equal(generated.Count(p => p.Key >= edgeHour.ToUnixTimeMilliseconds() && p.Key <= to.ToUnixTimeMilliseconds()), summary.Count);
        }
    }

    [Fact]
    public async Task RetentionStep_DamagedDayChunkPastRawRetention_IsDeletedAndRetentionGoesOn()
    {
        var db = await SealedMinutesAsync(3);
        using var c = db.OpenConnection();
        var oldest = T0.AddDays(-3).ToUnixTimeMilliseconds();
        c.Execute("UPDATE chunks SET data = x'00ff00ff00ff00ff00ff' WHERE start_ts = @oldest;", new { oldest });

        // Raw samples kept half a day: the chunks of days -3 (damaged) and -2 go.
        var retention = new Retention(new StorageOptions { RawRetention = TimeSpan.FromDays(0.5), PruneInterval = TimeSpan.FromDays(365) }, new FakeTimeProvider(T0));
        for (var steps = 0; retention.Step(c) > 0; steps++)
        {
            Assert.True(steps < 1000, "retention never finished");
        }

        // The damaged day went (nothing derived from it); the next day's hours were derived; the polls were pruned.
        Assert.Equal(T0.AddDays(-1).ToUnixTimeMilliseconds(), c.ExecuteScalar<long>("SELECT min(start_ts) FROM chunks;"));
        Assert.Equal(0, c.ExecuteScalar<long>("SELECT count(*) FROM rollups_hour WHERE start_ts < @oldest + 86400000;", new { oldest }));
        Assert.Equal(24, c.ExecuteScalar<long>("SELECT count(*) FROM rollups_hour WHERE start_ts >= @oldest + 86400000 AND start_ts < @oldest + 172800000;", new { oldest }));
        Assert.Equal(0, c.ExecuteScalar<long>("SELECT count(*) FROM polls WHERE ts < @cut;", new { cut = T0.AddDays(-0.5).ToUnixTimeMilliseconds() }));
    }

    [Fact]
    public async Task Writer_DatabaseLockedThenReleased_ReportsLockedThenRecoversLosingNothing()
    {
        var db = RoadmapDatabase.Open(Temp.DatabasePath);
        await using var writer = NewWriter(db, new StorageOptions { FlushInterval = TimeSpan.FromMilliseconds(20), BusyTimeout = TimeSpan.FromMilliseconds(50), RetryDelay = TimeSpan.FromMilliseconds(20) });
        writer.Start();
        var other = new SqliteConnection($"Data Source={Temp.DatabasePath};Pooling=False");
        other.Open();
        other.Execute("BEGIN EXCLUSIVE;");
        for (var i = 0; i < 50; i++)
        {
            writer.TryEnqueue(Poll(T0.AddSeconds(i).ToUnixTimeMilliseconds(), ("up", 1)));
        }

        var flush = writer.FlushAsync();
        var waited = 0;
        while (writer.Health == StorageHealth.Ok && waited++ < 500)
        {
            await Task.Delay(10);
        }

        Assert.Equal(StorageHealth.Locked, writer.Health);
        Assert.Contains("locked", writer.LastError);
        Assert.False(flush.IsCompleted);
        other.Execute("COMMIT;");
        other.Dispose();

        await flush.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(StorageHealth.Ok, writer.Health);
        Assert.Null(writer.LastError);
        Assert.True(writer.WriteFailures > 0);
        Assert.Equal(0, writer.PollsDropped);
        var reader = db.Samples;
        Assert.Equal(50, reader.Read("web", "up", T0, T0.AddMinutes(1)).Count);
        Assert.Equal(50, reader.Summarize("web", "up", T0, T0.AddDays(2)).Count);
    }
}

public sealed class SqliteEvaluationStoreTests() : EvaluationStoreTests(new SqliteTestBackend())
{
    private TempDatabase Temp => ((SqliteTestBackend)Backend).Temp;

    [Fact]
    public void ThinnedSql_QueryPlan_SeeksTheEvaluationsIndexAndScansNoTable()
    {
        Store.Append([Evaluation("cloud", "uptime", T0, 0.99, 0.9, KpiStatus.Met)]);

        using var c = RoadmapDatabase.Open(Temp.DatabasePath).OpenConnection();
        var plan = c.Query<(long Id, long Parent, long NotUsed, string Detail)>(
            "EXPLAIN QUERY PLAN " + SqliteEvaluationStore.ThinnedSql, new { spans = """[["cloud","uptime",0,1000]]""", last = 1 }).Select(r => r.Detail).ToList();

        // Only the spans (the JSON argument and the recursion's queue) are scanned; every read of evaluations is a
        // seek, by rowid or in the (initiative, kpi, ts) index.
        Assert.All(plan.Where(d => d.StartsWith("SCAN ", StringComparison.Ordinal)), d => Assert.Matches("^SCAN (json_each|k|kept)\\b", d));
        Assert.All(plan.Where(d => d.StartsWith("SEARCH ", StringComparison.Ordinal)), d => Assert.Matches("USING (COVERING INDEX evaluations_by_kpi_ts \\(initiative=\\? AND kpi=\\? AND ts>\\?|INTEGER PRIMARY KEY \\(rowid=\\?\\))", d));
        Assert.Contains(plan, d => d.Contains("INDEX evaluations_by_kpi_ts (initiative=? AND kpi=? AND ts>? AND ts<?)", StringComparison.Ordinal));
    }

    [Fact]
    public void SaveBaseline_Dates_AreStoredAsIsoText()
    {
        Store.SaveBaseline("frontend", "p95", October1, October31, "avg", 2.4, 100, T0);

        using var c = RoadmapDatabase.Open(Temp.DatabasePath).OpenConnection();
        var row = c.QuerySingle<(string From, string To, long ComputedAt)>("SELECT from_date, to_date, computed_at FROM baselines;");
        Assert.Equal(("2026-10-01", "2026-10-31", T0.ToUnixTimeMilliseconds()), row);
    }

    [Fact]
    public void Open_DatabaseFromBeforeRules_MarksItsRowsAsRules1AndKeepsThem()
    {
        // A database as the previous Roadmap left it: schema 3, evaluations without the rules column, an uptime KPI
        // judged missed by its value alone.
        Store.Append([Evaluation("cloud-migration", "uptime", T0, 0.9889, 0.999, KpiStatus.Missed)]);
        using (var c = RoadmapDatabase.Open(Temp.DatabasePath).OpenConnection())
        {
            c.Execute(
                """
                ALTER TABLE evaluations DROP COLUMN rules; DROP TABLE update_deliveries; DROP TABLE chunks;
                ALTER TABLE series DROP COLUMN closed_days_version; ALTER TABLE series DROP COLUMN source_key;
                DROP TABLE samples; CREATE TABLE samples (series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
                DELETE FROM schema_version WHERE version >= 4;
                """);
            c.Execute("INSERT INTO evaluations (initiative, kpi, ts, value, target, status) VALUES ('cloud-migration', 'uptime', @ts, 0.9889, 0.999, 'missed');", new { ts = T0.AddMinutes(5).ToUnixTimeMilliseconds() });
        }

        var reopened = RoadmapDatabase.Open(Temp.DatabasePath);
        var store = reopened.Evaluations;
        store.Append([Evaluation("cloud-migration", "uptime", T0.AddMinutes(10), 0.9889, 0.999, KpiStatus.Met)]);

        Assert.Equal(Migrations.Latest, reopened.SchemaVersion);
        Assert.Equal([1L, 1L, IEvaluationStore.CurrentRules], store.History("cloud-migration", "uptime", T0, T0.AddHours(1)).Select(e => e.Rules));
        Assert.Equal(["missed", "missed", "met"], store.History("cloud-migration", "uptime", T0, T0.AddHours(1)).Select(e => e.Status));
    }
}
