namespace Roadmap.EndToEnd.Tests.Reliability;

/// <summary>
/// The tests that put the worker under heavy ingest and measure how soon it recovers run alone, after the parallel
/// ones: on a two-core machine, a Chromium or Grafana test beside them would measure itself instead of the worker.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReliabilityGroup
{
    public const string Name = "Reliability (runs alone)";
}
