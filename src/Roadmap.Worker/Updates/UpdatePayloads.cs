using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Roadmap.Core.Config;
using Roadmap.Worker.Reporting;

namespace Roadmap.Worker.Updates;

/// <summary>
/// An update in each format: what changed (<see cref="WhatChanged"/>) followed by the current table. The one place a
/// format is chosen. JSON is built as <see cref="JsonNode"/>s, never by reflection, so the native build writes it.
/// </summary>
public static class UpdatePayloads
{
    /// <summary>The longest text of one Slack section block (Slack's own limit: 3,000 characters).</summary>
    public const int SlackSectionChars = 3000;

    /// <summary>The longest Mattermost message text (Mattermost's default post limit: 16,383 characters).</summary>
    public const int MattermostChars = 16000;

    /// <summary>The body of the update in <paramref name="format"/>: a webhook's JSON, or a file's document.</summary>
    public static string Render(UpdateFormat format, WhatChanged changes, RoadmapView view) => format switch
    {
        UpdateFormat.Slack => Slack(changes, view),
        UpdateFormat.Teams => Teams(changes, view),
        UpdateFormat.Mattermost => Mattermost(changes, view),
        UpdateFormat.Json => Json(changes, view),
        UpdateFormat.Html => Html(changes, view),
        _ => Markdown(changes, view),
    };

    /// <summary>The section in Markdown, then <c>report</c>'s Markdown table.</summary>
    public static string Markdown(WhatChanged changes, RoadmapView view) => Section(changes) + "\n" + MarkdownRenderer.Render(view);

    /// <summary>The "what changed" section alone, in Markdown.</summary>
    public static string Section(WhatChanged changes)
    {
        var md = new StringBuilder("## ").Append(changes.Title).Append("\n\n");
        foreach (var (title, lines) in changes.Groups())
        {
            md.Append("**").Append(title).Append("**");
            if (lines is not { Count: > 0 })
            {
                md.Append(": ").Append(WhatChanged.Empty(lines)).Append("\n\n");
                continue;
            }

            md.Append('\n');
            foreach (var line in lines)
            {
                md.Append("- ").Append(MarkdownRenderer.Escape(line)).Append('\n');
            }

            md.Append('\n');
        }

        return md.ToString();
    }

    /// <summary>The board's page (without its refresh) with the section above the table.</summary>
    public static string Html(WhatChanged changes, RoadmapView view)
    {
        var page = HtmlRenderer.Render(view);
        var section = new StringBuilder("<section class=\"changes\">\n<h2>").Append(E(changes.Title)).Append("</h2>\n");
        foreach (var (title, lines) in changes.Groups())
        {
            section.Append("<h3>").Append(E(title)).Append("</h3>\n");
            if (lines is not { Count: > 0 })
            {
                section.Append("<p>").Append(E(WhatChanged.Empty(lines))).Append("</p>\n");
                continue;
            }

            section.Append("<ul>\n");
            foreach (var line in lines)
            {
                section.Append("<li>").Append(E(line)).Append("</li>\n");
            }

            section.Append("</ul>\n");
        }

        section.Append("</section>\n");
        const string main = "<main>\n";
        var at = page.IndexOf(main, StringComparison.Ordinal);
        return at < 0 ? page : page.Insert(at + main.Length, section.ToString());
    }

    /// <summary>Slack: a fallback <c>text</c> and Block Kit blocks: a header, one section per group, the table as lines.</summary>
    public static string Slack(WhatChanged changes, RoadmapView view)
    {
        var blocks = new JsonArray
        {
            (JsonNode)new JsonObject { ["type"] = "header", ["text"] = PlainText(Shorten($"{view.Name}: {changes.Title}", 150)) },
        };
        foreach (var (title, lines) in changes.Groups())
        {
            var body = lines is { Count: > 0 } ? string.Join("\n", lines.Select(l => "• " + SlackEscape(l))) : WhatChanged.Empty(lines);
            blocks.Add((JsonNode)Mrkdwn(Shorten($"*{title}*\n{body}", SlackSectionChars)));
        }

        blocks.Add((JsonNode)new JsonObject { ["type"] = "divider" });
        blocks.Add((JsonNode)Mrkdwn(Shorten($"*The roadmap now* ({Evaluated(view)})\n" + string.Join("\n", view.Initiatives.Select(i => "• " + SlackEscape(InitiativeLine(view, i)))), SlackSectionChars)));
        return new JsonObject { ["text"] = $"{view.Name}: {changes.Title}: {Summary(changes)}", ["blocks"] = blocks }.ToJson();
    }

    /// <summary>Mattermost: one Markdown <c>text</c>, the section and the table (Mattermost renders tables).</summary>
    public static string Mattermost(WhatChanged changes, RoadmapView view) =>
        new JsonObject { ["text"] = Shorten(Markdown(changes, view), MattermostChars) }.ToJson();

    /// <summary>Microsoft Teams (an incoming webhook of Workflows): a message with one Adaptive Card 1.4.</summary>
    public static string Teams(WhatChanged changes, RoadmapView view)
    {
        var body = new JsonArray
        {
            (JsonNode)Text($"{view.Name}: {changes.Title}", bold: true, large: true),
        };
        foreach (var (title, lines) in changes.Groups())
        {
            body.Add((JsonNode)Text(title, bold: true));
            body.Add((JsonNode)Text(lines is { Count: > 0 } ? string.Join("\n", lines.Select(l => "- " + l)) : WhatChanged.Empty(lines)));
        }

        body.Add((JsonNode)Text($"The roadmap now ({Evaluated(view)})", bold: true));
        var facts = new JsonArray();
        foreach (var i in view.Initiatives)
        {
            facts.Add((JsonNode)new JsonObject { ["title"] = i.Name, ["value"] = InitiativeState(view, i) });
        }

        body.Add((JsonNode)new JsonObject { ["type"] = "FactSet", ["facts"] = facts });
        var card = new JsonObject
        {
            ["$schema"] = "http://adaptivecards.io/schemas/adaptive-card.json",
            ["type"] = "AdaptiveCard",
            ["version"] = "1.4",
            ["body"] = body,
        };
        return new JsonObject
        {
            ["type"] = "message",
            ["attachments"] = new JsonArray((JsonNode)new JsonObject { ["contentType"] = "application/vnd.microsoft.card.adaptive", ["content"] = card }),
        }.ToJson();
    }

    /// <summary>
    /// Plain JSON for any other receiver: <c>roadmap</c>, <c>since</c>, <c>at</c>, <c>changes</c> (each group a list;
    /// <c>blocked</c> and <c>unblocked</c> null when not known) and <c>table</c>, the <c>/api/roadmap</c> document.
    /// </summary>
    public static string Json(WhatChanged changes, RoadmapView view)
    {
        var doc = new JsonObject
        {
            ["roadmap"] = view.Name,
            ["since"] = ReportText.Instant(changes.Since),
            ["at"] = ReportText.Instant(changes.At),
            ["changes"] = new JsonObject
            {
                ["newlyMet"] = Kpis(changes.NewlyMet),
                ["newlyAtRisk"] = Kpis(changes.NewlyAtRisk),
                ["newlyMissed"] = Kpis(changes.NewlyMissed),
                ["blocked"] = Blocks(changes.Blocked),
                ["unblocked"] = Blocks(changes.Unblocked),
                ["deadlines"] = new JsonArray([.. changes.Deadlines.Select(d => (JsonNode)new JsonObject
                {
                    ["date"] = ReportText.Date(d.Date),
                    ["initiative"] = d.Initiative,
                    ["kpi"] = d.Kpi,
                    ["name"] = d.Name,
                    ["status"] = d.Status,
                })]),
            },
            ["table"] = JsonNode.Parse(JsonRenderer.Render(view)),
        };
        return doc.ToJson();
    }

    private static JsonArray Kpis(IReadOnlyList<KpiChange> changes) => new([.. changes.Select(c => (JsonNode)new JsonObject
    {
        ["initiative"] = c.Initiative,
        ["kpi"] = c.Kpi,
        ["name"] = c.KpiName,
        ["from"] = c.From,
        ["to"] = c.To,
        ["text"] = c.Line,
    })]);

    private static JsonArray? Blocks(IReadOnlyList<BlockChange>? changes) => changes is null ? null : new([.. changes.Select(b => (JsonNode)new JsonObject
    {
        ["initiative"] = b.Initiative,
        ["name"] = b.Name,
        ["blockedBy"] = new JsonArray([.. b.BlockedBy.Select(n => (JsonNode)JsonValue.Create(n))]),
    })]);

    /// <summary>"3 newly met, 1 newly at risk, ...": the text of a notification.</summary>
    private static string Summary(WhatChanged c) =>
        $"{c.NewlyMet.Count} newly met, {c.NewlyAtRisk.Count} newly at risk, {c.NewlyMissed.Count} newly missed, {c.Deadlines.Count} deadlines in the next {WhatChanged.DeadlineHorizonDays} days";

    /// <summary>"Migrate to cloud: at risk; KPIs: System uptime: 99.95% vs >= 99.9%, met; ...".</summary>
    private static string InitiativeLine(RoadmapView view, InitiativeView i) => $"{i.Name}: {InitiativeState(view, i)}";

    private static string InitiativeState(RoadmapView view, InitiativeView i) =>
        MarkdownRenderer.Health(view, i) + (i.Kpis.Count == 0 ? "" : "; " + string.Join("; ", i.Kpis.Select(ReportText.KpiLine)));

    private static string Evaluated(RoadmapView view) => view.EvaluatedAt is { } at ? $"KPIs evaluated at {ReportText.Instant(at)}" : "KPIs not evaluated yet";

    private static JsonObject PlainText(string text) => new() { ["type"] = "plain_text", ["text"] = text };

    private static JsonObject Mrkdwn(string text) => new() { ["type"] = "section", ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = text } };

    private static JsonObject Text(string text, bool bold = false, bool large = false)
    {
        var block = new JsonObject { ["type"] = "TextBlock", ["text"] = text, ["wrap"] = true };
        if (bold)
        {
            block["weight"] = "Bolder";
        }

        if (large)
        {
            block["size"] = "Large";
        }

        return block;
    }

    // Slack's mrkdwn reads &, < and > as markup (links, mentions): escaped as Slack documents.
    private static string SlackEscape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static string Shorten(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1), "…");

    private static string E(string text) => WebUtility.HtmlEncode(text);

    // Through a writer, as ConfigSchema does: no serializer options, nothing the native build lacks.
    private static string ToJson(this JsonNode node)
    {
        using var buffer = new MemoryStream();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            node.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
