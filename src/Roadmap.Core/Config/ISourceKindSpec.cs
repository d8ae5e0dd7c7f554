namespace Roadmap.Core.Config;

/// <summary>
/// What the config loader needs to know of a source kind: how to read its own keys, and which signals it emits.
/// Each kind in Roadmap.Sources implements this beside its poller, so adding a kind never touches the loader.
/// </summary>
public interface ISourceKindSpec
{
    /// <summary>The value of <c>kind:</c>, e.g. "http".</summary>
    string Kind { get; }

    /// <summary>
    /// The kind's own keys, one declaration each (beside the common keys of <see cref="ConfigSchema.SourceCommon"/>):
    /// the JSON Schema and README's table of the kind come from them, and a test binds every declared key to check
    /// that <see cref="Bind"/> reads exactly these. Default: none (a test double).
    /// </summary>
    IReadOnlyList<KeySpec> Keys => [];

    /// <summary>
    /// Reads the kind's own keys from the source's mapping (the common keys id, kind, every, cron and timeout are
    /// already read) and returns its typed options. The section has checked every declared key's type and presence
    /// already (<see cref="ConfigSection.Declare"/>): Bind takes the values and reports only what involves more than
    /// one key or the value's meaning (a bad connection string, email without token). Errors go to the section.
    /// </summary>
    object Bind(ConfigSection section);

    /// <summary>The signals a source of this kind emits with these options.</summary>
    IReadOnlyList<string> Signals(object options);
}
