namespace Roadmap.EndToEnd.Tests;

/// <summary>
/// The in-process host tests that count polls against the clock (sub-second intervals and timeouts) run alone, after
/// the parallel ones: beside a test that starts worker processes, PostgreSQL or Chromium, a two-core CI machine once
/// let a 500 ms tick pass and timed out a poll of a warmed in-process mock. They take seconds each.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ScheduleTimingGroup
{
    public const string Name = "Schedule timing (runs alone)";
}
