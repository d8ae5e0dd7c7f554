using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Roadmap.Core.Config;
using Roadmap.Storage;
using Roadmap.Worker.Configuration;
using Roadmap.Worker.Evaluation;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Endpoints;

/// <summary>The JSON API: the roadmap, one initiative, and a KPI's evaluation history.</summary>
public static partial class ApiEndpoints
{
    /// <summary>The history endpoint's range when <c>from</c> is not given: the 7 days before <c>to</c>.</summary>
    public static readonly TimeSpan DefaultHistoryRange = TimeSpan.FromDays(7);

    /// <summary>
    /// <c>/api/roadmap</c>, <c>/api/initiatives/{id}</c> and <c>/api/initiatives/{id}/kpis/{kpi}/history?from=&amp;to=</c>.
    /// Unknown ids are 404 and a bad range 400, each with an RFC 9457 problem-details body.
    /// </summary>
    public static IEndpointRouteBuilder MapRoadmapApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/roadmap", (RoadmapConfig config, EvaluationService evaluation, HttpContext http) =>
            Results.Json(CurrentRoadmap.Get(config, evaluation, http.RequestServices.GetService<CurrentConfig>()), JsonRenderer.TypeInfo<RoadmapView>()));

        app.MapGet("/api/initiatives/{id}", (string id, RoadmapConfig config, EvaluationService evaluation) =>
            config.FindInitiative(id) is null
                ? UnknownInitiative(id)
                : Results.Json(CurrentRoadmap.Get(config, evaluation).FindInitiative(id)!, JsonRenderer.TypeInfo<InitiativeView>()));

        app.MapGet("/api/initiatives/{id}/kpis/{kpi}/history", (string id, string kpi, string? from, string? to, RoadmapConfig config, IEvaluationStore store, TimeProvider time) =>
        {
            if (config.FindInitiative(id) is not { } initiative)
            {
                return UnknownInitiative(id);
            }

            if (initiative.Kpis.All(k => k.Id != kpi))
            {
                var known = initiative.Kpis.Count == 0
                    ? $"The initiative \"{id}\" has no KPIs."
                    : $"The initiative \"{id}\" has no KPI \"{Truncate(kpi)}\"; its KPIs are: {string.Join(", ", initiative.Kpis.Select(k => k.Id))}.";
                return Results.Problem(title: "Unknown KPI", detail: known, statusCode: StatusCodes.Status404NotFound);
            }

            if (!TryParseRange(from, to, time.GetUtcNow(), out var since, out var until, out var problem))
            {
                return Results.Problem(title: "Bad time range", detail: problem, statusCode: StatusCodes.Status400BadRequest);
            }

            var points = store.History(id, kpi, since, until)
                .Select(e => new KpiHistoryPoint(DateTimeOffset.FromUnixTimeMilliseconds(e.TimestampMs), Finite(e.Value), Finite(e.Target), e.Status, (int)e.Rules))
                .ToList();
            return Results.Json(new KpiHistory(id, kpi, since, until, points), JsonRenderer.TypeInfo<KpiHistory>());
        });
        return app;
    }

    /// <summary>
    /// The history range: both ISO-8601 (see <see cref="TryParseInstant"/>); <c>to</c> defaults to now and <c>from</c>
    /// to <see cref="DefaultHistoryRange"/> before <c>to</c>. False, with the reason, for an unparsable time or from
    /// after to.
    /// </summary>
    public static bool TryParseRange(string? from, string? to, DateTimeOffset now, out DateTimeOffset since, out DateTimeOffset until, out string? problem)
    {
        since = until = default;
        // An empty parameter (a form left blank) is an absent one.
        from = string.IsNullOrEmpty(from) ? null : from;
        to = string.IsNullOrEmpty(to) ? null : to;
        problem = Unparsable("from", from) ?? Unparsable("to", to);
        if (problem is not null)
        {
            return false;
        }

        until = to is null ? now : Parse(to);
        since = from is null ? until - DefaultHistoryRange : Parse(from);
        if (since > until)
        {
            problem = $"from ({ReportText.Instant(since)}) is after to ({ReportText.Instant(until)})";
            return false;
        }

        return true;

        static DateTimeOffset Parse(string text) => TryParseInstant(text, out var at) ? at : throw new UnreachableException();

        static string? Unparsable(string name, string? text)
        {
            if (text is null || TryParseInstant(text, out _))
            {
                return null;
            }

            // A "+01:00" offset arrives as " 01:00" when the URL does not encode the plus.
            var hint = text.Contains(' ', StringComparison.Ordinal) ? " (in a URL, write the + of an offset as %2B)" : "";
            return $"{name} \"{Truncate(text)}\" is not an ISO-8601 time, e.g. 2026-11-26T12:00:00Z or 2026-11-26{hint}";
        }
    }

    /// <summary>
    /// An ISO-8601 instant ("2026-11-26T12:00:00Z", with an offset, or without one as UTC) or a date (its midnight
    /// UTC). Nothing else: no culture-dependent forms such as "11/26/2026".
    /// </summary>
    public static bool TryParseInstant(string text, out DateTimeOffset instant)
    {
        instant = default;
        return IsoInstant().IsMatch(text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out instant);
    }

    private static IResult UnknownInitiative(string id) => Results.Problem(
        title: "Unknown initiative",
        detail: $"No initiative has the id \"{Truncate(id)}\".",
        statusCode: StatusCodes.Status404NotFound);

    // An echo of a caller's input stays short.
    private static string Truncate(string text) => text.Length <= 100 ? text : text[..100] + "…";

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,7})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoInstant();
}

/// <summary>
/// The problem-details body of the API's 400s and 404s (RFC 9457), generated at build time: registered on ASP.NET's
/// JSON options by RoadmapApp, which Results.Problem writes through. Its extensions hold strings (e.g. traceId).
/// </summary>
[JsonSerializable(typeof(Microsoft.AspNetCore.Mvc.ProblemDetails))]
[JsonSerializable(typeof(string))]
internal sealed partial class ProblemJsonContext : JsonSerializerContext;
