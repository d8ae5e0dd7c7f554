namespace Roadmap.Core.Evaluation;

/// <summary>One stored sample: unix milliseconds UTC and the value.</summary>
public readonly record struct Point(long TimestampMs, double Value);
