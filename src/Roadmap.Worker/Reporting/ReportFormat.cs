namespace Roadmap.Worker.Reporting;

/// <summary>The formats of the report verb.</summary>
public enum ReportFormat
{
    /// <summary>A GitHub-flavoured markdown table, for wikis and pull requests. The default.</summary>
    Markdown,

    /// <summary>The board's page, without its refresh.</summary>
    Html,

    /// <summary>The <c>/api/roadmap</c> document.</summary>
    Json,
}

public static class ReportFormats
{
    public const string Expected = "markdown, html or json";

    /// <summary>Exact lowercase names only: markdown, html, json.</summary>
    public static bool TryParse(string text, out ReportFormat format)
    {
        (var ok, format) = text switch
        {
            "markdown" => (true, ReportFormat.Markdown),
            "html" => (true, ReportFormat.Html),
            "json" => (true, ReportFormat.Json),
            _ => (false, ReportFormat.Markdown),
        };
        return ok;
    }

    public static string Render(this ReportFormat format, RoadmapView view) => format switch
    {
        ReportFormat.Html => HtmlRenderer.Render(view),
        ReportFormat.Json => JsonRenderer.Render(view) + "\n",
        _ => MarkdownRenderer.Render(view),
    };
}
