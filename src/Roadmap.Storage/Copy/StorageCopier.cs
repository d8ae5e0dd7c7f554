namespace Roadmap.Storage.Copy;

/// <summary>
/// Copies a store's history into another (hot samples and sealed chunks, rollups as stored, polls, evaluations,
/// baselines, update deliveries), resumably, and verifies it: row counts per table and a checksum per stream on both
/// sides. Chunks are copied as their bytes, each checked first (<see cref="HistoryChunkRow"/>): a damaged one stops
/// the copy with an error naming its series and range.
/// </summary>
/// <remarks>
/// Three phases. <b>Checking</b>: every stream the destination already holds must be exactly the first rows of the
/// source's stream (what an interrupted copy leaves); any other data is a conflict, reported before anything is
/// written. <b>Copying</b>: each source stream from where the destination's ends, a page at a time, each page one
/// transaction of the destination, so an interrupted run (cancelled, killed) is resumed by running it again.
/// <b>Verifying</b>: the counts of every table and the digest of every stream, read back from both sides.
/// The source must not be written meanwhile (stop the service): a row added to it during the copy is a difference.
/// </remarks>
public sealed class StorageCopier
{
    /// <summary>Rows per page (one read of the source, one transaction of the destination) by default: 50,000.</summary>
    public const int DefaultBatchRows = 50_000;

    private readonly IHistoryExport _source;
    private readonly IHistoryImport _destination;
    private readonly int _batchRows;

    /// <param name="source">Where the history is read; never written.</param>
    /// <param name="destination">Where it is copied to.</param>
    /// <param name="batchRows">Rows per page and per destination transaction; default <see cref="DefaultBatchRows"/>.</param>
    public StorageCopier(IHistoryExport source, IHistoryImport destination, int batchRows = DefaultBatchRows)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchRows, 1);
        _source = source;
        _destination = destination;
        _batchRows = batchRows;
    }

    /// <summary>The tables, in the order they are copied.</summary>
    public static IReadOnlyList<HistoryTable> Tables { get; } = Enum.GetValues<HistoryTable>();

    /// <summary>Checks the destination, copies what it lacks, and verifies both sides.</summary>
    /// <param name="progress">Told after every page (of the check, the copy and the verification); called on the
    /// copying thread, so keep it short.</param>
    /// <param name="cancellationToken">Stops between pages: what was committed stays, and a new run resumes there.</param>
    /// <returns>The conflicts (then nothing was written) or the verification.</returns>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="StorageException">Either store failed.</exception>
    public CopyOutcome Run(Action<CopyProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var positions = new Dictionary<HistoryStreamId, (StreamPosition Position, long Rows)>();
        var conflicts = new List<StreamDifference>();
        foreach (var table in Tables)
        {
            var total = _destination.Count(table);
            long done = 0;
            foreach (var stream in Sorted(_destination.Streams(table)))
            {
                var (held, position) = Digest(_destination, stream, long.MaxValue, Tell(CopyPhase.Checking, table, total, progress, () => done, n => done += n), cancellationToken);
                var (prefix, _) = Digest(_source, stream, held.Rows, null, cancellationToken);
                if (prefix != held)
                {
                    conflicts.Add(new StreamDifference(stream, prefix, held));
                }

                positions[stream] = (position, held.Rows);
            }
        }

        if (conflicts.Count > 0)
        {
            return new CopyOutcome(conflicts, [], []);
        }

        var copied = new Dictionary<HistoryTable, long>();
        foreach (var table in Tables)
        {
            var total = _source.Count(table);
            var streams = Sorted(_source.Streams(table));
            var done = streams.Sum(s => positions.TryGetValue(s, out var p) ? p.Rows : 0);
            long count = 0;
            progress?.Invoke(new CopyProgress(CopyPhase.Copying, table, done, total));
            foreach (var stream in streams)
            {
                var position = positions.TryGetValue(stream, out var p) ? p.Position : StreamPosition.Start;
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var rows = _source.Read(stream, position, _batchRows);
                    if (rows.Count == 0)
                    {
                        break;
                    }

                    Check(stream, rows);
                    _destination.Insert(stream, rows);
                    position = position.After(rows);
                    done += rows.Count;
                    count += rows.Count;
                    progress?.Invoke(new CopyProgress(CopyPhase.Copying, table, done, total));
                }
            }

            copied[table] = count;
        }

        return Verify(copied, progress, cancellationToken);
    }

    /// <summary>Compares both sides as they are now: the counts of every table and the digest of every stream.</summary>
    /// <param name="copied">Rows copied per table by this run, for the outcome; none when only verifying.</param>
    public CopyOutcome Verify(IReadOnlyDictionary<HistoryTable, long>? copied = null, Action<CopyProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var tables = new List<TableCounts>();
        var differences = new List<StreamDifference>();
        foreach (var table in Tables)
        {
            var sourceRows = _source.Count(table);
            var destinationRows = _destination.Count(table);
            tables.Add(new TableCounts(table, sourceRows, destinationRows, copied?.GetValueOrDefault(table) ?? 0));
            var total = sourceRows + destinationRows;
            long done = 0;
            var tell = Tell(CopyPhase.Verifying, table, total, progress, () => done, n => done += n);
            foreach (var stream in Sorted(_source.Streams(table).Union(_destination.Streams(table))))
            {
                var (a, _) = Digest(_source, stream, long.MaxValue, tell, cancellationToken);
                var (b, _) = Digest(_destination, stream, long.MaxValue, tell, cancellationToken);
                if (a != b)
                {
                    differences.Add(new StreamDifference(stream, a, b));
                }
            }
        }

        return new CopyOutcome([], tables, differences);
    }

    /// <summary>Refuses a page that holds a row whose stored bytes are damaged (a chunk that does not decode, or does
    /// not match its row), before any of it is written: a copy never carries damage over silently.</summary>
    /// <exception cref="StorageException">The first damaged row, named by its stream and range.</exception>
    private void Check(HistoryStreamId stream, IReadOnlyList<HistoryRow> rows)
    {
        foreach (var row in rows)
        {
            if (row.Damage(stream) is { } damage)
            {
                throw new StorageException(
                    $"{damage}, in {_source.Location}. Nothing of it was copied (what was copied before it is kept): restore the file "
                    + "from a backup, or delete that row of its chunks table (its samples are lost) and run the copy again",
                    null,
                    StorageHealth.Failing,
                    "damaged chunk");
            }
        }
    }

    private static List<HistoryStreamId> Sorted(IEnumerable<HistoryStreamId> streams) =>
        [.. streams.Distinct().OrderBy(s => s.Name, StringComparer.Ordinal).ThenBy(s => s.Part, StringComparer.Ordinal)];

    private static Action<int>? Tell(CopyPhase phase, HistoryTable table, long total, Action<CopyProgress>? progress, Func<long> done, Action<long> add) =>
        progress is null ? null : n =>
        {
            add(n);
            progress(new CopyProgress(phase, table, done(), total));
        };

    /// <summary>The digest of a stream's first <paramref name="maxRows"/> rows (all: <see cref="long.MaxValue"/>) and the position after them.</summary>
    private (StreamDigest Digest, StreamPosition Position) Digest(IHistoryExport side, HistoryStreamId stream, long maxRows, Action<int>? onPage, CancellationToken cancellationToken)
    {
        var builder = new StreamDigestBuilder();
        var position = StreamPosition.Start;
        long rows = 0;
        while (rows < maxRows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var limit = (int)Math.Min(_batchRows, maxRows - rows);
            var page = side.Read(stream, position, limit);
            foreach (var row in page)
            {
                builder.Add(row);
            }

            if (page.Count == 0)
            {
                break;
            }

            position = position.After(page);
            rows += page.Count;
            onPage?.Invoke(page.Count);
        }

        return (builder.Result(), position);
    }
}

/// <summary>What a copy is doing.</summary>
public enum CopyPhase
{
    /// <summary>Comparing what the destination already holds with the source.</summary>
    Checking,

    /// <summary>Copying rows.</summary>
    Copying,

    /// <summary>Comparing counts and checksums on both sides.</summary>
    Verifying,
}

/// <summary>Where a copy is: rows of <paramref name="Table"/> done out of <paramref name="Total"/> in this phase.</summary>
/// <param name="Done">Copying: rows the destination holds (a resumed run starts where the last one stopped); checking
/// and verifying: rows read.</param>
/// <param name="Total">Copying: the source's rows; checking: the destination's; verifying: both sides'.</param>
public readonly record struct CopyProgress(CopyPhase Phase, HistoryTable Table, long Done, long Total);

/// <summary>One table's rows on both sides after a copy, and how many this run copied.</summary>
public sealed record TableCounts(HistoryTable Table, long SourceRows, long DestinationRows, long Copied);

/// <summary>A stream whose digests differ: the source's (for a conflict, of its first rows) and the destination's.</summary>
public sealed record StreamDifference(HistoryStreamId Stream, StreamDigest Source, StreamDigest Destination);

/// <summary>How a copy ended.</summary>
/// <param name="Conflicts">Streams the destination held before the copy that are not the first rows of the source's;
/// when there are any, nothing was written and <paramref name="Tables"/> is empty.</param>
/// <param name="Tables">Every table's counts on both sides.</param>
/// <param name="Differences">Streams whose digests differ after the copy.</param>
public sealed record CopyOutcome(IReadOnlyList<StreamDifference> Conflicts, IReadOnlyList<TableCounts> Tables, IReadOnlyList<StreamDifference> Differences)
{
    /// <summary>True when the copy was made and both sides hold the same rows: counts and every checksum match.</summary>
    public bool Verified => Conflicts.Count == 0 && Differences.Count == 0 && Tables.All(t => t.SourceRows == t.DestinationRows);
}
