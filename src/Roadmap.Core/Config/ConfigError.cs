namespace Roadmap.Core.Config;

/// <summary>One problem found in a config file, with the 1-based line and column it points at.</summary>
public sealed record ConfigError(string File, int Line, int Column, string Message)
{
    /// <summary>The form every tool prints: <c>FILE:LINE:COL: message</c>.</summary>
    public override string ToString() => $"{File}:{Line}:{Column}: {Message}";
}

/// <summary>
/// The outcome of loading a config: the model when there were no errors, else the errors found (the first
/// <see cref="ConfigContext.MaxErrors"/>, and how many more).
/// </summary>
public sealed record ConfigLoadResult(RoadmapConfig? Config, IReadOnlyList<ConfigError> Errors)
{
    public bool IsValid => Config is not null && Errors.Count == 0;

    /// <summary>Errors found past those in <see cref="Errors"/>: counted, not kept. Default 0.</summary>
    public int MoreErrors { get; init; }

    /// <summary>Every error found, kept or not.</summary>
    public int ErrorCount => Errors.Count + MoreErrors;

    /// <summary>What is valid but almost certainly not meant; nothing stops for it. Default none.</summary>
    public IReadOnlyList<ConfigError> Warnings { get; init; } = [];

    /// <summary>What to print for the warnings, one line each: <c>FILE:LINE:COL: warning: message</c>.</summary>
    public IEnumerable<string> WarningLines() => Warnings.Select(w => $"{w.File}:{w.Line}:{w.Column}: warning: {w.Message}");

    /// <summary>What to print, one line each: every kept error (FILE:LINE:COL: message), then "... and N more errors".</summary>
    public IEnumerable<string> ErrorLines() =>
        MoreErrors == 0 ? Errors.Select(e => e.ToString()) : Errors.Select(e => e.ToString()).Append($"... and {MoreErrors} more errors");
}

/// <summary>Thrown by callers that need a valid config and got errors instead.</summary>
public sealed class ConfigInvalidException(IReadOnlyList<ConfigError> errors)
    : Exception($"the config has {errors.Count} error(s):{Environment.NewLine}{string.Join(Environment.NewLine, errors)}")
{
    public IReadOnlyList<ConfigError> Errors { get; } = errors;
}
