using System.Globalization;
using System.Text.Json;
using Roadmap.Core.Config;
using Roadmap.Sources.Api;

namespace Roadmap.Sources.GitLab;

/// <summary>One gitlab project's issue count. See <see cref="GitLabSourceKind"/>.</summary>
public sealed class GitLabSource : ISource
{
    private readonly TimeProvider _time;
    private readonly GitLabIssuesOptions _options;
    private readonly Uri _statisticsUrl;
    private readonly Uri _issuesUrl;
    private readonly ApiClient _api;

    // Set once issues_statistics answered 404 and the issues list answered instead: later polls go straight to it.
    private bool _statisticsMissing;

    /// <param name="api">Resilience settings; null: the <see cref="ApiClientOptions"/> defaults.</param>
    public GitLabSource(SourceConfig config, SourceContext context, ApiClientOptions? api = null)
    {
        Config = config;
        _time = context.Time;
        _options = (GitLabIssuesOptions)config.Options;
        _statisticsUrl = _options.StatisticsUrl;
        _issuesUrl = _options.IssuesUrl;
        _api = new ApiClient(config, context, api);
    }

    public SourceConfig Config { get; }

    public string? Target => SourceTarget.Of(_statisticsUrl, Config);

    public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var (count, failure) = await CountAsync(started, cancellationToken);
        var duration = _time.GetElapsedTime(started);
        return failure is null ? PollResult.Ok([new(GitLabSourceKind.Count, count)], duration) : PollResult.Failed(Redact(failure), duration);
    }

    public ValueTask DisposeAsync()
    {
        _api.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<(double Count, string? Failure)> CountAsync(long started, CancellationToken cancellationToken)
    {
        if (_statisticsMissing)
        {
            return FromTotalHeader(await _api.SendAsync(() => Get(_issuesUrl), Explained, cancellationToken));
        }

        var statistics = await _api.SendAsync(() => Get(_statisticsUrl), Explained, cancellationToken);
        // Instances older than issues_statistics (GitLab 12.x) answer 404: count through the issues list instead.
        if (statistics.Response is not { Status: 404 })
        {
            return FromStatistics(statistics, _options.State);
        }

        // The second request gets what is left of the poll's timeout, so that the poll still ends before the next is due.
        var timedOut = (0d, $"timeout after {Durations.Format(Config.Timeout)}");
        var left = Config.Timeout - _time.GetElapsedTime(started);
        if (left <= TimeSpan.Zero)
        {
            return timedOut;
        }

        using var budget = new CancellationTokenSource(left, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        ApiResult list;
        try
        {
            list = await _api.SendAsync(() => Get(_issuesUrl), Explained, linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return timedOut;
        }

        var counted = FromTotalHeader(list);
        _statisticsMissing = counted.Failure is null;
        return counted;
    }

    /// <summary>Statuses whose body is read: GitLab says there what is missing (404) or which parameter it refused (400).</summary>
    private static bool Explained(ApiResponse response) => response.Status is 400 or 404;

    private HttpRequestMessage Get(Uri url)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("application/json");
        if (_options.Token is { } token)
        {
            request.Headers.Add("PRIVATE-TOKEN", token);
        }

        return request;
    }

    internal static (double Count, string? Failure) FromStatistics(ApiResult result, string state)
    {
        if (Failure(result) is { } failure)
        {
            return (0, failure);
        }

        using var json = result.Response!.Json(out var bad);
        if (json is null)
        {
            return (0, bad);
        }

        var path = $"statistics.counts.{state}";
        var counts = json.RootElement;
        foreach (var name in path.Split('.'))
        {
            if (counts.ValueKind != JsonValueKind.Object || !counts.TryGetProperty(name, out counts))
            {
                return (0, $"response has no {path}");
            }
        }

        return counts.ValueKind == JsonValueKind.Number && counts.TryGetInt64(out var count) && count >= 0
            ? (count, null)
            : (0, $"{path} is not a count: {Shorten(counts.GetRawText())}");
    }

    internal static (double Count, string? Failure) FromTotalHeader(ApiResult result)
    {
        if (Failure(result) is { } failure)
        {
            return (0, failure);
        }

        var total = result.Response!.Header("X-Total");
        if (total is null)
        {
            // GitLab leaves the header out when counting would be too slow (more than 10,000 issues).
            return (0, "response has no X-Total header (GitLab leaves it out above 10,000 issues)");
        }

        return long.TryParse(total, NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            ? (count, null)
            : (0, $"X-Total header is not a count: {Shorten(total)}");
    }

    /// <summary>Why a request failed, in GitLab's own words where the body has them, e.g. "HTTP 404 Not Found: 404 Project Not Found".</summary>
    private static string? Failure(ApiResult result)
    {
        if (result.Failure is { } failure)
        {
            return failure;
        }

        var response = result.Response!;
        if (response.IsSuccess)
        {
            return null;
        }

        using var json = response.Json(out _);
        if (json?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            return response.StatusLine;
        }

        string? detail = null;
        if (root.TryGetProperty("message", out var message))
        {
            // {"message": "404 Project Not Found"} or, for a bad parameter, {"message": {"labels": ["is invalid"]}}.
            detail = message.ValueKind switch
            {
                JsonValueKind.String => message.GetString(),
                JsonValueKind.Object => message.EnumerateObject().Select(p => $"{p.Name} {FirstText(p.Value)}".TrimEnd()).FirstOrDefault(),
                _ => null,
            };
        }

        detail ??= root.TryGetProperty("error_description", out var description) && description.ValueKind == JsonValueKind.String ? description.GetString()
            : root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String ? error.GetString()
            : null;
        return string.IsNullOrWhiteSpace(detail) ? response.StatusLine : $"{response.StatusLine}: {Shorten(detail)}";
    }

    private static string? FirstText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Array => value.EnumerateArray().Select(FirstText).FirstOrDefault(t => t is not null),
        _ => null,
    };

    /// <summary>A reason never holds the token, even where a server echoes it back.</summary>
    private string Redact(string reason) => Config.Redact(reason)!;

    private static string Shorten(string text) => ServerText.Shorten(text, 300);
}
