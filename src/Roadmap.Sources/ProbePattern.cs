using System.Text.RegularExpressions;
using Roadmap.Core.Config;

namespace Roadmap.Sources;

/// <summary>
/// The regular expressions a probe matches against what a server sent (tcp's <c>expect</c>, dns's
/// <c>expect.answer</c>). The server is not trusted, so they run on .NET's non-backtracking engine: time linear in the
/// text, whatever the pattern, and no match timeout to tune. That engine refuses backreferences, lookarounds and
/// atomic groups: such a pattern is a config error.
/// </summary>
public static class ProbePattern
{
    /// <summary>The longest pattern accepted, in characters: 1,000. Building the engine costs more the longer it is.</summary>
    public const int MaxLength = 1000;

    private const RegexOptions Options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;

    /// <summary>The regex of <paramref name="pattern"/>; when <paramref name="whole"/>, it must match the whole text.</summary>
    public static Regex Create(string pattern, bool whole) => new(whole ? $"^(?:{pattern})$" : pattern, Options);

    /// <summary>
    /// Reads <paramref name="key"/> as a pattern and checks that it builds; null when absent, or after reporting an
    /// error at the key.
    /// </summary>
    public static string? Read(ConfigSection section, string key, bool whole)
    {
        var pattern = section.Text(key);
        if (pattern is null)
        {
            return null;
        }

        if (pattern.Length == 0)
        {
            section.Error(key, "must not be empty");
            return null;
        }

        if (pattern.Length > MaxLength)
        {
            section.Error(key, $"the pattern is {pattern.Length} characters long, more than {MaxLength}");
            return null;
        }

        try
        {
            Create(pattern, whole);
            return pattern;
        }
        catch (ArgumentException e)
        {
            section.Error(key, $"bad regular expression: {e.Message}");
        }
        catch (NotSupportedException e)
        {
            // The non-backtracking engine: backreferences, lookarounds, atomic groups, ...
            section.Error(key, $"not supported here (the server is not trusted, so patterns run without backtracking): {e.Message}");
        }

        return null;
    }
}
