using Roadmap.Core.Config;

namespace Roadmap.Worker.Configuration;

/// <summary>How the last reload of the config file ended, for the board's banner and the API.</summary>
/// <param name="File">The config file that was reloaded.</param>
/// <param name="At">When the reload ended.</param>
/// <param name="Success">True when the file's config now runs; false when the previous one goes on.</param>
/// <param name="Errors">For a failed reload, its first <see cref="MaxErrors"/> errors (<c>FILE:LINE:COL: message</c>, or
/// what failed while applying it), each redacted of the running config's secrets; empty after a success.</param>
/// <param name="ErrorCount">How many errors the file had in all (at least <see cref="Errors"/>' count); 0 after a success.</param>
public sealed record ConfigReload(string File, DateTimeOffset At, bool Success, IReadOnlyList<string> Errors, int ErrorCount)
{
    /// <summary>The most errors kept of a failed reload: 5. The log has every one.</summary>
    public const int MaxErrors = 5;

    /// <summary>A reload that applied its file.</summary>
    public static ConfigReload Succeeded(string file, DateTimeOffset at) => new(file, at, true, [], 0);

    /// <summary>
    /// A reload that failed, keeping the first <see cref="MaxErrors"/> of <paramref name="errors"/> with every secret of
    /// <paramref name="running"/> (and of <paramref name="next"/>, a valid file that failed to apply) replaced
    /// (<see cref="SourceConfig.Redact"/>, and the bearer token of settings.auth): the loader never quotes a secret it
    /// read, but a message may quote a value that holds one, and the board is read by more people than the log.
    /// </summary>
    public static ConfigReload Failed(RoadmapConfig running, DateTimeOffset at, IEnumerable<string> errors, int count, RoadmapConfig? next = null)
    {
        ArgumentNullException.ThrowIfNull(running);
        var kept = errors.Take(MaxErrors).Select(e => Redact(Redact(e, running), next)).ToList();
        return new ConfigReload(running.File, at, false, kept, Math.Max(count, kept.Count));
    }

    private static string Redact(string text, RoadmapConfig? config)
    {
        if (config is null)
        {
            return text;
        }

        foreach (var source in config.Sources)
        {
            text = source.Redact(text)!;
        }

        return config.Settings.Auth?.BearerToken is { Length: > 0 } token ? text.Replace(token, "***", StringComparison.Ordinal) : text;
    }
}
