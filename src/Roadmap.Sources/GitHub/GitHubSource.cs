using System.Net.Http.Headers;
using System.Text.Json;
using Roadmap.Core.Config;
using Roadmap.Sources.Api;

namespace Roadmap.Sources.GitHub;

/// <summary>One github issue search. See <see cref="GitHubSourceKind"/>.</summary>
public sealed class GitHubSource : ISource
{
    /// <summary>The REST API version the requests ask for.</summary>
    public const string ApiVersion = "2022-11-28";

    private readonly TimeProvider _time;
    private readonly GitHubSearchOptions _options;
    private readonly Uri _searchUrl;
    private readonly ApiClient _api;

    /// <param name="api">Resilience settings; null: the <see cref="ApiClientOptions"/> defaults.</param>
    public GitHubSource(SourceConfig config, SourceContext context, ApiClientOptions? api = null)
    {
        Config = config;
        _time = context.Time;
        _options = (GitHubSearchOptions)config.Options;
        _searchUrl = _options.SearchUrl;
        _api = new ApiClient(config, context, api);
    }

    public SourceConfig Config { get; }

    public string? Target => SourceTarget.Of(_searchUrl, Config);

    public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        // A 422 is read rather than reduced to its status line: GitHub says in the body which qualifier it refused.
        var result = await _api.SendAsync(Request, response => response.Status == 422, cancellationToken);
        return Judge(result) switch
        {
            ({ } samples, null) => PollResult.Ok(samples, _time.GetElapsedTime(started)),
            (_, var failure) => PollResult.Failed(Redact(failure!), _time.GetElapsedTime(started)),
        };
    }

    public ValueTask DisposeAsync()
    {
        _api.Dispose();
        return ValueTask.CompletedTask;
    }

    private HttpRequestMessage Request()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, _searchUrl);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.github+json"));
        request.Headers.Add("X-GitHub-Api-Version", ApiVersion);
        if (_options.Token is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return request;
    }

    internal static (List<Sample>? Samples, string? Failure) Judge(ApiResult result)
    {
        if (result.Failure is { } failure)
        {
            return (null, failure);
        }

        var response = result.Response!;
        if (!response.IsSuccess)
        {
            return (null, Detail(response) is { } detail ? $"{response.StatusLine}: {detail}" : response.StatusLine);
        }

        using var json = response.Json(out var bad);
        if (json is null)
        {
            return (null, bad);
        }

        var root = json.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("total_count", out var total) || total.ValueKind == JsonValueKind.Null)
        {
            return (null, "response has no total_count");
        }

        if (total.ValueKind != JsonValueKind.Number || !total.TryGetInt64(out var count) || count < 0)
        {
            return (null, $"total_count is not a count: {Shorten(total.GetRawText())}");
        }

        // GitHub stops a search that runs too long and returns what it found so far: the count may be low.
        var incomplete = root.TryGetProperty("incomplete_results", out var flag) && flag.ValueKind == JsonValueKind.True;
        return ([new(GitHubSourceKind.Count, count), new(GitHubSourceKind.Incomplete, incomplete ? 1 : 0)], null);
    }

    /// <summary>GitHub's own words on a refused search: the first error's message, else the message.</summary>
    private static string? Detail(ApiResponse response)
    {
        using var json = response.Json(out _);
        if (json?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            return null;
        }

        if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array
            && errors.EnumerateArray().FirstOrDefault() is { ValueKind: JsonValueKind.Object } first
            && first.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
        {
            return Shorten(m.GetString()!);
        }

        return root.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String ? Shorten(message.GetString()!) : null;
    }

    /// <summary>A reason never holds the token, even where a server echoes it back.</summary>
    private string Redact(string reason) => Config.Redact(reason)!;

    private static string Shorten(string text) => ServerText.Shorten(text, 300);
}
