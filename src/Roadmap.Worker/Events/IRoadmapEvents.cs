using Roadmap.Core.Config;
using Roadmap.Core.Evaluation;
using Roadmap.Sources;

namespace Roadmap.Worker.Events;

/// <summary>
/// What happened in the worker: a poll recorded, a round evaluated, a config applied. The rooms where it happens
/// (Scheduling, Evaluation, Hosting) tell this and know nothing of who listens; the exporter (<c>RoadmapMetrics</c>,
/// registered as this in DI) listens. Called on the thread where it happened, PollRecorded thousands of times a
/// second: a listener must be cheap, must not block and must not throw. Arguments are the objects at hand, so telling
/// allocates nothing.
/// </summary>
public interface IRoadmapEvents
{
    /// <summary>A poll started <paramref name="lateness"/> after its scheduled fire time.</summary>
    void PollStarted(TimeSpan lateness);

    /// <summary>A tick of <paramref name="source"/> came while its previous poll still ran, and was skipped.</summary>
    void PollSkipped(SourceConfig source);

    /// <summary>A poll of <paramref name="source"/> that started at <paramref name="at"/> ended with <paramref name="result"/>.</summary>
    void PollRecorded(SourceConfig source, PollResult result, DateTimeOffset at);

    /// <summary>A KPI was judged in the round under way.</summary>
    void KpiEvaluated(KpiEvaluation evaluation);

    /// <summary>An initiative was judged in the round under way.</summary>
    void InitiativeEvaluated(InitiativeEvaluation evaluation);

    /// <summary>An evaluation round ended; it took <paramref name="took"/> (every KPI and initiative judged, the
    /// history stored), not counting a wait for a round already under way.</summary>
    void RoundEvaluated(TimeSpan took);

    /// <summary>
    /// A round is about to judge <paramref name="config"/>, which differs from the one the previous round judged (a
    /// reload): KPIs and initiatives it no longer has are judged no more.
    /// </summary>
    void EvaluatedConfigReplaced(RoadmapConfig config);

    /// <summary>The config in force was loaded at start, at <paramref name="at"/>.</summary>
    void ConfigLoaded(DateTimeOffset at);

    /// <summary>A reload now runs <paramref name="config"/> (sources not yet swapped).</summary>
    void ConfigApplied(RoadmapConfig config);

    /// <summary>A reload ended at <paramref name="at"/>: the new config runs, or (<paramref name="success"/> false) the old one goes on.</summary>
    void ConfigReloaded(bool success, DateTimeOffset at);

    /// <summary>
    /// A source replaced or removed by a reload was disposed; <paramref name="current"/> is what is now configured under
    /// <paramref name="id"/>, null when nothing is.
    /// </summary>
    void SourceRetired(string id, SourceConfig? current);

    /// <summary>
    /// A scheduled update's fire ended: sent (<paramref name="success"/>), or given up after its attempts until its
    /// next fire.
    /// </summary>
    void UpdateDelivered(string update, bool success);
}
