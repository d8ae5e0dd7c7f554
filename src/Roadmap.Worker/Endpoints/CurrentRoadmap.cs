using Roadmap.Core.Config;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Endpoints;

/// <summary>The roadmap table as of the latest evaluation, for the API and the board.</summary>
internal static class CurrentRoadmap
{
    /// <summary>
    /// The latest snapshot's table. Before the first scheduled evaluation (the first second after start) the KPIs are
    /// judged on demand, so the first visitor sees values rather than an empty board. With <paramref name="current"/>,
    /// the view says which file runs and how its last reload ended.
    /// </summary>
    public static RoadmapView Get(RoadmapConfig config, EvaluationService evaluation, CurrentConfig? current = null)
    {
        var snapshot = evaluation.Latest;
        if (snapshot.At == DateTimeOffset.MinValue)
        {
            snapshot = evaluation.EvaluateAll();
        }

        var view = RoadmapViewBuilder.Build(config, snapshot);
        return current is null ? view : view with { Config = ConfigStatusView.Of(config.File, current.LastReload) };
    }
}
