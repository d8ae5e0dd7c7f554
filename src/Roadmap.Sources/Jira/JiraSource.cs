using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Roadmap.Core.Config;
using Roadmap.Sources.Api;

namespace Roadmap.Sources.Jira;

/// <summary>One jira JQL count. See <see cref="JiraSourceKind"/>.</summary>
public sealed class JiraSource : ISource
{
    private readonly TimeProvider _time;
    private readonly JiraSearchOptions _options;
    private readonly AuthenticationHeaderValue? _authorization;
    private readonly byte[] _countBody;
    private readonly ApiClient _api;

    /// <param name="api">Resilience settings; null: the <see cref="ApiClientOptions"/> defaults.</param>
    public JiraSource(SourceConfig config, SourceContext context, ApiClientOptions? api = null)
    {
        Config = config;
        _time = context.Time;
        _options = (JiraSearchOptions)config.Options;
        _authorization = _options switch
        {
            { Email: { } email, Token: { } token } => new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{email}:{token}"))),
            { Token: { } token } => new AuthenticationHeaderValue("Bearer", token),
            _ => null,
        };
        _countBody = JqlBody(_options.Jql);
        _api = new ApiClient(config, context, api);
    }

    public SourceConfig Config { get; }

    public string? Target => SourceTarget.Of(_options.Url, Config);

    public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var cloud = _options.Edition == JiraSearchOptions.Cloud;
        // A 400 is read rather than reduced to its status line: Jira says in the body what is wrong with the JQL.
        var result = await _api.SendAsync(cloud ? CountRequest : SearchRequest, response => response.Status is 400 or 404, cancellationToken);
        var (count, failure) = Judge(result, cloud ? "count" : "total");
        var duration = _time.GetElapsedTime(started);
        return failure is null ? PollResult.Ok([new(JiraSourceKind.Count, count)], duration) : PollResult.Failed(Redact(failure), duration);
    }

    public ValueTask DisposeAsync()
    {
        _api.Dispose();
        return ValueTask.CompletedTask;
    }

    private HttpRequestMessage CountRequest()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _options.ApproximateCountUrl)
        {
            Content = new ByteArrayContent(_countBody) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        return Authorize(request);
    }

    private HttpRequestMessage SearchRequest() => Authorize(new HttpRequestMessage(HttpMethod.Get, _options.SearchUrl));

    private HttpRequestMessage Authorize(HttpRequestMessage request)
    {
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Authorization = _authorization;
        return request;
    }

    internal static (double Count, string? Failure) Judge(ApiResult result, string field)
    {
        if (result.Failure is { } failure)
        {
            return (0, failure);
        }

        var response = result.Response!;
        if (!response.IsSuccess)
        {
            var detail = Detail(response)
                ?? (response.Status == 404 && field == "count" ? "no approximate-count API here (for Jira Data Center, set edition: datacenter)" : null);
            return (0, detail is null ? response.StatusLine : $"{response.StatusLine}: {detail}");
        }

        using var json = response.Json(out var bad);
        if (json is null)
        {
            return (0, bad);
        }

        var root = json.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return (0, $"response has no {field}");
        }

        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var count) && count >= 0
            ? (count, null)
            : (0, $"{field} is not a count: {Shorten(value.GetRawText())}");
    }

    /// <summary>Jira's own words on a refused request: the first of errorMessages, else of errors.</summary>
    private static string? Detail(ApiResponse response)
    {
        using var json = response.Json(out _);
        if (json?.RootElement is not { ValueKind: JsonValueKind.Object } root)
        {
            return null;
        }

        if (root.TryGetProperty("errorMessages", out var messages) && messages.ValueKind == JsonValueKind.Array
            && messages.EnumerateArray().FirstOrDefault(m => m.ValueKind == JsonValueKind.String && m.GetString()!.Length > 0) is { ValueKind: JsonValueKind.String } first)
        {
            return Shorten(first.GetString()!);
        }

        if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object
            && errors.EnumerateObject().FirstOrDefault(e => e.Value.ValueKind == JsonValueKind.String) is { Value.ValueKind: JsonValueKind.String } error)
        {
            return Shorten($"{error.Name}: {error.Value.GetString()}");
        }

        return null;
    }

    /// <summary>
    /// A reason never holds the token, even where a server echoes it back: the config's secrets, plus the basic
    /// credentials made from the token, which the config never held.
    /// </summary>
    private string Redact(string reason)
    {
        reason = Config.Redact(reason)!;
        return _authorization?.Parameter is { Length: > 0 } credentials ? reason.Replace(credentials, "***", StringComparison.Ordinal) : reason;
    }

    private static string Shorten(string text) => ServerText.Shorten(text, 300);

    /// <summary>The approximate-count request body, <c>{"jql":"..."}</c>, escaped as System.Text.Json escapes.</summary>
    private static byte[] JqlBody(string jql)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("jql", jql);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
