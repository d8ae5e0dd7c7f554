using System.Globalization;
using System.Text.Json;
using Roadmap.Core.Config;
using Roadmap.Sources.Api;

namespace Roadmap.Sources.Prometheus;

/// <summary>One PromQL instant query. See <see cref="PrometheusSourceKind"/>.</summary>
public sealed class PrometheusSource : ISource
{
    private readonly SourceContext _context;
    private readonly PrometheusQueryOptions _options;
    private readonly Uri _queryUri;
    private readonly ApiClient _client;

    public PrometheusSource(SourceConfig config, SourceContext context)
    {
        Config = config;
        _context = context;
        _options = (PrometheusQueryOptions)config.Options;
        _queryUri = _options.QueryUri;
        _client = new ApiClient(config, context);
    }

    public SourceConfig Config { get; }

    public string? Target => SourceTarget.Of(_queryUri, Config);

    public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var started = _context.Time.GetTimestamp();
        var result = await _client.SendAsync(Request, IsQueryError, cancellationToken);
        var duration = _context.Time.GetElapsedTime(started);
        if (result.Failure is { } failure)
        {
            return PollResult.Failed(failure, duration);
        }

        var (value, problem) = Read(result.Response!);
        return problem is null
            ? PollResult.Ok([new Sample(PrometheusSourceKind.Value, value)], duration)
            : PollResult.Failed(problem, duration);
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Prometheus answers a bad or failed query with these statuses and a JSON body that says why.</summary>
    private static bool IsQueryError(ApiResponse response) =>
        response.Status is 400 or 422 or 500 or 503 && response.MediaType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true;

    private HttpRequestMessage Request()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, _queryUri);
        foreach (var (name, value) in _options.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (!_options.Headers.ContainsKey("Accept"))
        {
            request.Headers.Accept.ParseAdd("application/json");
        }

        return request;
    }

    /// <summary>The one number of a query response, or why there is none.</summary>
    internal static (double Value, string? Problem) Read(ApiResponse response)
    {
        using var document = response.Json(out var failure);
        if (document is null)
        {
            return (0, response.IsSuccess ? failure : response.StatusLine);
        }

        var root = document.RootElement;
        var status = root.ValueKind == JsonValueKind.Object ? String(root, "status") : null;
        if (status == "error")
        {
            var errorType = String(root, "errorType");
            var error = String(root, "error") ?? "(no error message)";
            return (0, errorType is null ? $"query failed: {error}" : $"query failed ({errorType}): {error}");
        }

        if (!response.IsSuccess)
        {
            return (0, response.StatusLine);
        }

        if (status != "success")
        {
            return (0, "not a Prometheus query response: expected a JSON object with \"status\": \"success\" and \"data\"");
        }

        if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
            || !data.TryGetProperty("result", out var result) || String(data, "resultType") is not { } resultType)
        {
            return (0, "not a Prometheus query response: no data.resultType and data.result");
        }

        switch (resultType)
        {
            case "scalar":
                return Number(result);
            case "vector" when result.ValueKind == JsonValueKind.Array:
                var series = result.GetArrayLength();
                if (series != 1)
                {
                    return (0, series == 0 ? "the query returned no series" : $"the query returned {series} series, expected one");
                }

                var sample = result[0];
                if (sample.ValueKind == JsonValueKind.Object && sample.TryGetProperty("value", out var pair))
                {
                    return Number(pair);
                }

                return (0, sample.ValueKind == JsonValueKind.Object && sample.TryGetProperty("histogram", out _)
                    ? "the query returned a native histogram, expected a number"
                    : "not a Prometheus query response: a vector sample without a value");
            case "matrix":
                return (0, "the query returned a range vector (matrix), expected an instant vector or a scalar");
            case "string":
                return (0, "the query returned a string, expected a number");
            default:
                return (0, $"not a Prometheus query response: unknown resultType \"{Shorten(resultType)}\"");
        }
    }

    /// <summary>A sample's [timestamp, "value"] pair: Prometheus sends the value as a string, NaN and ±Inf included.</summary>
    private static (double Value, string? Problem) Number(JsonElement pair)
    {
        if (pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2 || pair[1].ValueKind != JsonValueKind.String)
        {
            return (0, "not a Prometheus query response: a sample is not [timestamp, \"value\"]");
        }

        var text = pair[1].GetString()!;
        if (text is "NaN" or "+Inf" or "-Inf" or "Inf")
        {
            return (0, $"the query returned {text}");
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? (value, null)
            : (0, $"the query returned \"{Shorten(text)}\", not a number");
    }

    private static string? String(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Shorten(string text) => ServerText.Shorten(text, 40);
}
