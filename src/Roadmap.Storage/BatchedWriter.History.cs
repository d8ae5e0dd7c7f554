using System.Collections.Concurrent;
using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>
/// The evaluation history's appends, written by the writer on its own connection. On SQLite a commit by any other
/// connection makes the writer's connection drop its whole page cache at its next transaction (WAL mode: the log
/// changed under it), and refill it, page by page, from the file; with 1,000 KPIs every 5 minutes that was RSS stepping
/// up by 13-17 MiB for a minute, and the cache's pages read again. Written here, the writer's cache stays.
/// </summary>
public sealed partial class BatchedWriter
{
    /// <summary>How long <see cref="AppendEvaluations"/> waits for the writer to take its rows. 30 seconds.</summary>
    public static readonly TimeSpan AppendWait = TimeSpan.FromSeconds(30);

    private readonly ConcurrentQueue<HistoryAppend> _appends = new();
    private TaskCompletionSource _appendWake = NewSignal();
    private volatile bool _appendsClosed;

    /// <summary>
    /// Appends evaluations to the history in one transaction of the writer (all or none), between its batches: a
    /// batch being written is waited for, the linger of one is not. Blocks until they are committed.
    /// </summary>
    /// <returns>False when the writer is not running (not started, or stopped): nothing was written, write them with
    /// <see cref="IEvaluationStore.Append"/>.</returns>
    /// <exception cref="StorageException">The store refused them (nothing was written), or the writer did not take
    /// them within <see cref="AppendWait"/> (then they never will be).</exception>
    public bool AppendEvaluations(IReadOnlyCollection<KpiEvaluation> evaluations)
    {
        ArgumentNullException.ThrowIfNull(evaluations);
        if (!IsRunning || _stopping)
        {
            return false;
        }

        if (evaluations.Count == 0)
        {
            return true;
        }

        using var append = new HistoryAppend(evaluations);
        _appends.Enqueue(append);
        _appendWake.TrySetResult();
        // The writer ended between the check above and the queue: what it takes last is behind it.
        if (_appendsClosed && append.TryCancel())
        {
            return false;
        }

        if (!append.Done.Wait(AppendWait))
        {
            if (append.TryCancel())
            {
                throw new StorageException(
                    $"the evaluation history was not stored: the writer did not get to it within {AppendWait.TotalSeconds:F0} s",
                    cause: "writer busy");
            }

            // Taken just now: its transaction is bounded by the busy timeout.
            append.Done.Wait();
        }

        return append.Error is not { } e ? true : throw new StorageException(e.Message, e, e.Health, e.Cause);
    }

    /// <summary>Writes the appends that wait, each in its own transaction; called by the loop between batches.</summary>
    private void RunAppends()
    {
        if (_appendWake.Task.IsCompleted)
        {
            _appendWake = NewSignal();
        }

        while (_appends.TryDequeue(out var append))
        {
            if (!append.TryStart())
            {
                continue;
            }

            var session = _session!;
            var start = StepStart();
            try
            {
                EnsureStore();
                session.Begin();
                session.AppendEvaluations(append.Evaluations);
                session.Commit();
            }
            catch (StorageException e)
            {
                // The writer's health is about samples: a refused append is the caller's to report.
                session.Rollback();
                append.Error = e;
            }
            finally
            {
                AddBusy(ref _busyBatches, start);
                append.Done.Set();
            }
        }
    }

    /// <summary>At the loop's end: no append is taken after this, and those queued before are written.</summary>
    private void CloseAppends()
    {
        _appendsClosed = true;
        RunAppends();
    }

    /// <summary>One caller's rows, and who got to them first: the writer (<see cref="TryStart"/>) or the caller giving
    /// up (<see cref="TryCancel"/>).</summary>
    private sealed class HistoryAppend(IReadOnlyCollection<KpiEvaluation> evaluations) : IDisposable
    {
        private int _state;

        public IReadOnlyCollection<KpiEvaluation> Evaluations { get; } = evaluations;

        public ManualResetEventSlim Done { get; } = new();

        public StorageException? Error { get; set; }

        public bool TryStart() => Interlocked.CompareExchange(ref _state, 1, 0) == 0;

        public bool TryCancel() => Interlocked.CompareExchange(ref _state, 2, 0) == 0;

        public void Dispose() => Done.Dispose();
    }
}
