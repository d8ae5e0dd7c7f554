using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Roadmap.Sources.Api;

/// <summary>A buffered API response: status, headers and at most <see cref="ApiClientOptions.MaxResponseBytes"/> of body.</summary>
public sealed record ApiResponse(int Status, string? Reason, HttpResponseHeaders Headers, string? MediaType, byte[] Body)
{
    public bool IsSuccess => Status is >= 200 and <= 299;

    public string Text => Encoding.UTF8.GetString(Body);

    /// <summary>"HTTP 404 Not Found".</summary>
    public string StatusLine => string.IsNullOrEmpty(Reason) ? $"HTTP {Status}" : $"HTTP {Status} {Reason}";

    public string? Header(string name) =>
        Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>Parses the body as JSON; on failure returns null and says why (wrong content type, empty, malformed).</summary>
    public JsonDocument? Json(out string? failure)
    {
        failure = null;
        if (Body.Length == 0)
        {
            failure = "empty response body, expected JSON";
            return null;
        }

        if (MediaType is { } type && !type.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            failure = $"expected a JSON response, got content type {type}";
            return null;
        }

        try
        {
            if (BadString(Body) is { } at)
            {
                failure = $"malformed JSON: a string at byte {at} is not valid Unicode (invalid UTF-8, or half of a surrogate pair)";
                return null;
            }

            return JsonDocument.Parse(Body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            failure = $"malformed JSON: {e.Message}";
            return null;
        }
    }

    /// <summary>
    /// Where the first string (value or name) that cannot be read as text starts; null when every one can.
    /// JsonDocument.Parse accepts invalid UTF-8 and escaped lone surrogates ("\uD800") inside strings, and reading
    /// one later throws InvalidOperationException, out of whichever parser touched it.
    /// </summary>
    private static long? BadString(byte[] body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
            {
                try
                {
                    _ = reader.GetString();
                }
                catch (InvalidOperationException)
                {
                    return reader.TokenStartIndex;
                }
            }
        }

        return null;
    }
}

/// <summary>The outcome of one resilient API call: a response, or why there is none.</summary>
public readonly record struct ApiResult(ApiResponse? Response, string? Failure)
{
    public static ApiResult Failed(string reason) => new(null, reason);
}
