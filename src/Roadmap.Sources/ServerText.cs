namespace Roadmap.Sources;

/// <summary>Text a server sent, quoted in a failure reason.</summary>
public static class ServerText
{
    /// <summary>At most <paramref name="max"/> characters, with "…" where it was cut (secrets are redacted after, cut or not).</summary>
    public static string Shorten(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "…");
}
