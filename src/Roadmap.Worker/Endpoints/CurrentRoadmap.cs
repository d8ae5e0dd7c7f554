using Roadmap.Core.Config;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Endpoints;

/// <summary>The roadmap table as of the latest evaluation, for the API and the board.</summary>
internal static class CurrentRoadmap
{
    /// <summary>
    /// The latest snapshot's table. Before the first scheduled evaluation (the first second after start) the KPIs are
    /// judged on demand, so the first visitor sees values rather than an empty board.
    /// </summary>
    public static RoadmapView Get(RoadmapConfig config, EvaluationService evaluation)
    {
        var snapshot = evaluation.Latest;
        if (snapshot.At == DateTimeOffset.MinValue)
        {
            snapshot = evaluation.EvaluateAll();
        }

        return RoadmapViewBuilder.Build(config, snapshot);
    }
}
