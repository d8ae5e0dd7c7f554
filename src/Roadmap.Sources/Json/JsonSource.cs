using System.Globalization;
using System.Text.Json;
using Roadmap.Core.Config;
using Roadmap.Sources.Api;

namespace Roadmap.Sources.Json;

/// <summary>One JSON document read for its signals. See <see cref="JsonSourceKind"/>.</summary>
public sealed class JsonSource : ISource
{
    private readonly SourceContext _context;
    private readonly JsonSourceOptions _options;
    private readonly ApiClient _client;

    public JsonSource(SourceConfig config, SourceContext context)
    {
        Config = config;
        _context = context;
        _options = (JsonSourceOptions)config.Options;
        _client = new ApiClient(config, context);
    }

    public SourceConfig Config { get; }

    public string? Target => SourceTarget.Of(_options.Url, Config);

    public async ValueTask<PollResult> PollAsync(CancellationToken cancellationToken)
    {
        var started = _context.Time.GetTimestamp();
        var result = await _client.SendAsync(Request, cancellationToken);
        var duration = _context.Time.GetElapsedTime(started);
        if (result.Failure is { } failure)
        {
            return PollResult.Failed(failure, duration);
        }

        using var document = result.Response!.Json(out failure);
        if (document is null)
        {
            return PollResult.Failed(failure!, duration);
        }

        var (samples, problems) = Read(document.RootElement, _options.Signals);
        return problems.Count == 0
            ? PollResult.Ok(samples, duration)
            : PollResult.Failed(string.Join("; ", problems), duration, samples);
    }

    /// <summary>The signals' values in a document, and what kept the others from having one.</summary>
    internal static (List<Sample> Samples, List<string> Problems) Read(JsonElement root, IReadOnlyList<JsonSignal> signals)
    {
        // Every signal that resolves is kept, even when another fails: one bad path must not hide the others.
        var samples = new List<Sample>(signals.Count);
        var problems = new List<string>();
        foreach (var signal in signals)
        {
            if (!signal.Path.TryFind(root, out var element))
            {
                problems.Add($"{signal.Path}: not found");
            }
            else if (Number(element) is { } value)
            {
                samples.Add(new Sample(signal.Name, value));
            }
            else
            {
                problems.Add($"{signal.Path}: {Describe(element)} is not a number");
            }
        }

        return (samples, problems);
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private HttpRequestMessage Request()
    {
        var request = new HttpRequestMessage(new HttpMethod(_options.Method), _options.Url);
        foreach (var (name, value) in _options.Headers)
        {
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }
        }

        if (!_options.Headers.ContainsKey("Accept"))
        {
            request.Headers.Accept.ParseAdd("application/json");
        }

        return request;
    }

    private static double? Number(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Number when element.TryGetDouble(out var d) && double.IsFinite(d) => d,
        JsonValueKind.String when double.TryParse(element.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) => d,
        JsonValueKind.True => 1,
        JsonValueKind.False => 0,
        _ => null,
    };

    private static string Describe(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => $"\"{Shorten(element.GetString()!)}\"",
        JsonValueKind.Number => Shorten(element.GetRawText()),
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        _ => element.ValueKind.ToString(),
    };

    private static string Shorten(string text) => ServerText.Shorten(text, 40);
}
