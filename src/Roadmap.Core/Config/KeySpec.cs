namespace Roadmap.Core.Config;

/// <summary>The shape of a config key's value, as the loader reads it and the JSON Schema describes it.</summary>
public enum KeyType
{
    /// <summary>Any single value, read as text.</summary>
    Text,

    /// <summary>An id: lowercase letters, digits and '-', at most 63 characters.</summary>
    Id,

    /// <summary>A duration such as <c>15s</c> or <c>1h30m</c>.</summary>
    Duration,

    /// <summary>A date, <c>YYYY-MM-DD</c>.</summary>
    Date,

    /// <summary>A whole number within <see cref="KeySpec.Min"/> and <see cref="KeySpec.Max"/>.</summary>
    WholeNumber,

    /// <summary><c>true</c> or <c>false</c>.</summary>
    Boolean,

    /// <summary>An absolute http:// or https:// URL.</summary>
    Url,

    /// <summary>One of <see cref="KeySpec.Allowed"/>, compared without case.</summary>
    Enum,

    /// <summary>A list of values (a single value counts as a list of one).</summary>
    TextList,

    /// <summary>A mapping of names to text values (headers, signals, users).</summary>
    Map,

    /// <summary>A nested mapping whose keys are <see cref="KeySpec.Keys"/>.</summary>
    Mapping,

    /// <summary>A list of mappings whose keys are <see cref="KeySpec.Keys"/>.</summary>
    MappingList,

    /// <summary>A single value (see <see cref="KeySpec.Pattern"/>) or a mapping whose keys are <see cref="KeySpec.Keys"/>.</summary>
    TextOrMapping,

    /// <summary><c>true</c> or <c>false</c>, or a mapping whose keys are <see cref="KeySpec.Keys"/> (which turns it on: redis' <c>tls</c>).</summary>
    BooleanOrMapping,
}

/// <summary>
/// One config key, declared once: the loader's known keys and its type and required checks
/// (<see cref="ConfigSection.Declare"/>), the JSON Schema (<see cref="ConfigSchema"/>) and README's config tables all
/// come from these declarations, and tests fail when a reader and its declarations disagree.
/// </summary>
/// <param name="Name">The key as written in YAML.</param>
/// <param name="Type">The shape of its value.</param>
/// <param name="Description">One line for README's table and an editor's hover (Markdown: backticks allowed).</param>
public sealed record KeySpec(string Name, KeyType Type, string Description)
{
    /// <summary>Whether the key must be present. Default false.</summary>
    public bool Required { get; init; }

    /// <summary>The default as README shows it (e.g. <c>`15s`</c>, <c>— (anonymous)</c>); null: none.</summary>
    public string? Default { get; init; }

    /// <summary>For <see cref="KeyType.Enum"/>: the values accepted.</summary>
    public IReadOnlyList<string>? Allowed { get; init; }

    /// <summary>For <see cref="KeyType.Enum"/>: what a value is called in errors (<c>unknown aggregate "mean"</c>). Default "value".</summary>
    public string ValueName { get; init; } = "value";

    /// <summary>For <see cref="KeyType.WholeNumber"/>: the smallest value accepted.</summary>
    public int? Min { get; init; }

    /// <summary>For <see cref="KeyType.WholeNumber"/>: the largest value accepted.</summary>
    public int? Max { get; init; }

    /// <summary>
    /// A secret: also accepted as <c>{Name}File</c>, the path of a file holding it (<see cref="ConfigSection.Secret"/>),
    /// and redacted from failure reasons.
    /// </summary>
    public bool Secret { get; init; }

    /// <summary>A regular expression (ECMA-262 and .NET alike) a single value must match, for the schema; null: none.</summary>
    public string? Pattern { get; init; }

    /// <summary>For <see cref="KeyType.Mapping"/>, <see cref="KeyType.MappingList"/>, <see cref="KeyType.TextOrMapping"/> and <see cref="KeyType.BooleanOrMapping"/>: its keys.</summary>
    public IReadOnlyList<KeySpec>? Keys { get; init; }

    /// <summary>
    /// For a shared <see cref="KeyType.Mapping"/> (the <c>tls</c> block): its keys have a README table of their own, so a
    /// kind's table shows it as one row instead of a row per nested key. Default false.
    /// </summary>
    public bool OwnTable { get; init; }

    /// <summary>A valid value in YAML flow style, used by tests that bind every declared key (e.g. <c>15s</c>, <c>[bug, ui]</c>).</summary>
    public string Sample { get; init; } = "x";

    /// <summary>The names this declaration accepts in a mapping: the key, and <c>{Name}File</c> for a secret.</summary>
    public IEnumerable<string> Names => Secret ? [Name, Name + "File"] : [Name];
}
