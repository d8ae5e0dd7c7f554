namespace Roadmap.Core.Config;

/// <summary>What an update is written as: a webhook's message format, or a file's document format.</summary>
public enum UpdateFormat
{
    /// <summary>A Slack incoming webhook: <c>text</c> and Block Kit <c>blocks</c>.</summary>
    Slack,

    /// <summary>A Microsoft Teams incoming webhook (Workflows): a message with one Adaptive Card.</summary>
    Teams,

    /// <summary>A Mattermost incoming webhook: <c>text</c> in Markdown, tables included.</summary>
    Mattermost,

    /// <summary>Any other receiver: a plain JSON document (the changes, and the <c>/api/roadmap</c> document).</summary>
    Json,

    /// <summary>A file: Markdown, the changes and the roadmap table as <c>report</c> prints it.</summary>
    Markdown,

    /// <summary>A file: an HTML page, the changes and the board's table.</summary>
    Html,
}

/// <summary>
/// One scheduled update (<c>settings.updates[]</c>): on each fire of <see cref="Cron"/> (Quartz syntax, in
/// <c>settings.timezone</c>), what changed since the previous update and the current table go to a webhook
/// (<see cref="Url"/>) or a file (<see cref="File"/>), never both.
/// </summary>
/// <param name="Name">An id: the update's label in metrics and its key in the database.</param>
/// <param name="Cron">A Quartz cron expression (<c>sec min hour day-of-month month day-of-week [year]</c>).</param>
/// <param name="Url">The webhook URL: a secret (it often carries the token in its path), never printed.</param>
/// <param name="File">The file written (relative to the working directory), replaced whole at each update.</param>
public sealed record UpdateConfig(string Name, string Cron, UpdateFormat Format, Uri? Url, string? File)
{
    /// <summary>The secrets to redact from anything said about this update: the URL, and its path and query alone.</summary>
    public IReadOnlyList<string> Secrets => Url is null
        ? []
        : Url.PathAndQuery.Length >= 4 ? [Url.OriginalString, Url.AbsoluteUri, Url.PathAndQuery] : [Url.OriginalString, Url.AbsoluteUri];

    /// <summary>"webhook (slack)" or "file reports/weekly.md": where it goes, without the secret URL.</summary>
    public string Destination => Url is null ? $"file {File}" : $"webhook ({UpdatesConfig.FormatName(Format)})";

    // The URL is a secret: a record's generated ToString would print it into a reload's log line.
    public override string ToString() => $"{Name} ({Cron}, {Destination})";
}

/// <summary><c>settings.updates</c>: the scheduled updates, compared by value (a reload that changes none keeps them).</summary>
public sealed record UpdatesConfig(IReadOnlyList<UpdateConfig> Items)
{
    /// <summary>No updates: the default.</summary>
    public static readonly UpdatesConfig None = new([]);

    /// <summary>The formats a webhook takes.</summary>
    public static readonly IReadOnlyList<string> WebhookFormats = ["slack", "teams", "mattermost", "json"];

    /// <summary>The formats a file takes.</summary>
    public static readonly IReadOnlyList<string> FileFormats = ["markdown", "html"];

    /// <summary>The keys of one update.</summary>
    public static readonly IReadOnlyList<KeySpec> Keys =
    [
        new("name", KeyType.Id, "the update's id: its label in metrics and its key in the database") { Required = true, Pattern = ConfigSchema.IdPattern, Sample = "weekly" },
        new("cron", KeyType.Text, "when it is sent: a Quartz cron expression (`sec min hour day month weekday [year]`, e.g. `\"0 0 9 ? * MON\"`), in `settings.timezone`")
        {
            Required = true, Sample = "\"0 0 9 ? * MON\"",
        },
        new("url", KeyType.Url, "an incoming-webhook URL (`http://` or `https://`); a secret, never printed; instead of `file`")
        {
            Secret = true, Default = "—", Sample = "https://hooks.example.com/services/T0/B0/x",
        },
        new("file", KeyType.Text, "instead of `url`: a file written whole at each update (relative to the working directory)") { Default = "—" },
        new("format", KeyType.Enum, "for `url`: `slack`, `teams`, `mattermost` or `json`; for `file`: `markdown` or `html`")
        {
            Required = true, Allowed = [.. WebhookFormats, .. FileFormats], Sample = "slack",
        },
    ];

    /// <summary>As written in the config: slack, teams, mattermost, json, markdown, html.</summary>
    public static string FormatName(UpdateFormat format) => format switch
    {
        UpdateFormat.Slack => "slack",
        UpdateFormat.Teams => "teams",
        UpdateFormat.Mattermost => "mattermost",
        UpdateFormat.Json => "json",
        UpdateFormat.Markdown => "markdown",
        _ => "html",
    };

    /// <summary>Reads <c>settings.updates</c>; every error is reported, none quotes a URL.</summary>
    public static UpdatesConfig Read(ConfigSection settings)
    {
        var updates = new List<UpdateConfig>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var u in settings.SectionList("updates", idKey: "name"))
        {
            var name = u.Id("name");
            var cron = u.Text("cron", required: true);
            if (cron is not null && ConfigLoader.CronProblem(cron) is { } problem)
            {
                u.Error("cron", $"bad cron expression \"{u.Raw("cron")}\": {problem}");
                cron = null;
            }

            var hasUrl = u.Has("url") || u.Has("urlFile");
            var url = u.Secret("url");
            var file = u.Text("file");
            var formatText = u.OneOf("format", [.. WebhookFormats, .. FileFormats], required: true);
            u.RejectUnknownKeys(Keys);
            Uri? uri = null;
            if (url is not null && !TryWebhook(url, out uri))
            {
                // Never quoted: the URL is the secret.
                u.Error(u.Has("url") ? "url" : "urlFile", "not an absolute http:// or https:// URL (the value is a secret and is not shown)");
            }

            if (hasUrl == (file is not null || u.Has("file")))
            {
                u.Error(hasUrl ? "file" : "format", hasUrl ? "set either url (or urlFile) or file, not both" : "set url (or urlFile) for a webhook, or file");
                continue;
            }

            if (file is { Length: 0 })
            {
                u.Error("file", "must not be empty");
                continue;
            }

            // By name, not Enum.Parse: the names are the config's, and no reflection is asked of the native build.
            var format = formatText is null ? (UpdateFormat?)null : Enum.GetValues<UpdateFormat>().First(f => string.Equals(FormatName(f), formatText, StringComparison.OrdinalIgnoreCase));
            if (format is { } f && hasUrl != WebhookFormats.Contains(FormatName(f)))
            {
                u.Error("format", hasUrl
                    ? $"format {FormatName(f)} is for a file; a webhook takes {string.Join(", ", WebhookFormats)}"
                    : $"format {FormatName(f)} is for a webhook; a file takes {string.Join(", ", FileFormats)}");
                continue;
            }

            if (name is not null && !seen.Add(name))
            {
                u.Error("name", $"duplicate update name \"{name}\"");
                continue;
            }

            if (name is not null && cron is not null && format is { } ok && (uri is not null || file is not null))
            {
                updates.Add(new UpdateConfig(name, cron, ok, uri, file));
            }
        }

        return updates.Count == 0 ? None : new UpdatesConfig(updates);
    }

    private static bool TryWebhook(string text, out Uri? uri)
    {
        uri = Uri.TryCreate(text, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps) && u.Host.Length > 0 ? u : null;
        return uri is not null;
    }

    public bool Equals(UpdatesConfig? other) => other is not null && ConfigEquality.Same(Items, other.Items);

    public override int GetHashCode() => ConfigEquality.Hash(Items);

    public override string ToString() => Items.Count == 0 ? "(none)" : string.Join("; ", Items);
}
