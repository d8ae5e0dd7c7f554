using System.Globalization;
using System.Net;
using System.Text;
using Roadmap.Worker.Configuration;

namespace Roadmap.Worker.Reporting;

/// <summary>The config file in force and how its last reload ended (the API's <c>config</c> object).</summary>
/// <param name="File">The config file the service runs on.</param>
/// <param name="LastReload">How the last reload ended; null when none has since the start.</param>
public sealed record ConfigStatusView(string File, ConfigReloadView? LastReload)
{
    public static ConfigStatusView Of(string file, ConfigReload? last) =>
        new(file, last is null ? null : new ConfigReloadView(last.At.ToUniversalTime(), last.Success, last.ErrorCount, last.Errors));
}

/// <param name="At">When the reload ended.</param>
/// <param name="Success">False: the file was invalid (or could not be applied) and the previous config goes on.</param>
/// <param name="ErrorCount">How many errors the file had; 0 after a success.</param>
/// <param name="Errors">The first errors (at most <see cref="ConfigReload.MaxErrors"/>), <c>FILE:LINE:COL: message</c>,
/// with the config's secrets redacted; empty after a success.</param>
public sealed record ConfigReloadView(DateTimeOffset At, bool Success, int ErrorCount, IReadOnlyList<string> Errors);

/// <summary>What the board adds to the table so a lead need not read the log: a banner while the last config reload
/// failed, and under each KPI not met, why.</summary>
internal static class BoardNotices
{
    public const string Css = """
        .reload-failed { margin: 0 0 12px; padding: 8px 12px; border: 1px solid #ff8182; border-radius: 6px;
          background: #ffebe9; color: #a40e26; }
        .reload-failed ul { margin: 4px 0 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px;
          overflow-wrap: anywhere; }
        .reason { display: block; font-size: 12px; color: #a40e26; overflow-wrap: anywhere; }
        """;

    /// <summary>While the last reload failed: which file, when, how many errors and the first of them. Gone after a good one.</summary>
    public static void ReloadBanner(StringBuilder h, RoadmapView view)
    {
        if (view.Config is not { LastReload: { Success: false } reload } config)
        {
            return;
        }

        var at = reload.At.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        h.Append("<div class=\"reload-failed\" role=\"alert\" id=\"config-reload\">")
            .Append("<strong>The config file ").Append(E(config.File)).Append(" did not reload</strong> at <time datetime=\"")
            .Append(ReportText.Instant(reload.At)).Append("\">").Append(at).Append(" UTC</time>: ")
            .Append(reload.ErrorCount.ToString(CultureInfo.InvariantCulture)).Append(reload.ErrorCount == 1 ? " error" : " errors")
            .Append("; the service goes on with the config it ran before. Fix the file; this goes away after a good reload.\n<ul>");
        foreach (var error in reload.Errors)
        {
            h.Append("<li>").Append(E(error)).Append("</li>");
        }

        if (reload.ErrorCount > reload.Errors.Count)
        {
            h.Append("<li>… and ").Append((reload.ErrorCount - reload.Errors.Count).ToString(CultureInfo.InvariantCulture)).Append(" more in the log</li>");
        }

        h.Append("</ul></div>\n");
    }

    /// <summary>The reason line under a KPI's status: its code as data, its sentence as text.</summary>
    public static void Reason(StringBuilder h, KpiView k)
    {
        if (k.Reason is { } reason)
        {
            h.Append("<span class=\"reason\" data-reason=\"").Append(E(reason.Code)).Append("\">Why: ").Append(E(reason.Text)).Append("</span>");
        }
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
