namespace Roadmap.Storage.Chunks;

/// <summary>
/// What a chunk says about its samples without decoding them: how many, their time span, and the summary numbers a
/// window needs from a chunk that lies wholly inside it (count, sum, min, max, first, last, increase), computed exactly
/// as <see cref="Core.Evaluation.SeriesSummary"/> computes them from the same points in the same order, so a window
/// read may take them instead of decoding the chunk. Quantiles still need the values (or a rollup's sketch).
/// </summary>
/// <param name="Count">Samples in the chunk, NaN ones included; 0 to <see cref="ChunkCodec.MaxSamples"/>.</param>
/// <param name="MinTs">The earliest timestamp, unix ms UTC; 0 when empty.</param>
/// <param name="MaxTs">The latest timestamp, unix ms UTC; 0 when empty.</param>
/// <param name="ValueCount">Samples whose value is not NaN (the summary's count).</param>
/// <param name="Sum">Sum of the non-NaN values in chunk order; 0 when none.</param>
/// <param name="Min">Smallest non-NaN value; NaN when none.</param>
/// <param name="Max">Largest non-NaN value; NaN when none.</param>
/// <param name="FirstTs">Timestamp of the first non-NaN sample in chunk order, unix ms UTC; 0 when none.</param>
/// <param name="FirstValue">Its value; NaN when none.</param>
/// <param name="LastTs">Timestamp of the last non-NaN sample in chunk order, unix ms UTC; 0 when none.</param>
/// <param name="LastValue">Its value; NaN when none.</param>
/// <param name="Increase">The counter increase over the chunk by the reset rule of
/// <see cref="Core.Evaluation.SeriesSummary.Increase"/>; 0 with fewer than 2 values.</param>
public readonly record struct ChunkHeader(
    int Count,
    long MinTs,
    long MaxTs,
    int ValueCount,
    double Sum,
    double Min,
    double Max,
    long FirstTs,
    double FirstValue,
    long LastTs,
    double LastValue,
    double Increase)
{
    /// <summary>The header of no samples.</summary>
    public static ChunkHeader Empty { get; } = new(0, 0, 0, 0, 0, double.NaN, double.NaN, 0, double.NaN, 0, double.NaN, 0);
}
