using System.Text.RegularExpressions;

namespace Roadmap.Worker.Cluster;

/// <summary>What an instance id may be: it names a replica in the polls table, in Quartz's cluster table and in metrics.</summary>
public static partial class InstanceIds
{
    /// <summary>The rule, for the error message.</summary>
    public const string Rule = "an instance id is 1 to 64 letters, digits, '.', '_' or '-'";

    /// <summary>True for an id that follows <see cref="Rule"/>.</summary>
    public static bool IsValid(string id) => Pattern().IsMatch(id);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex Pattern();
}
