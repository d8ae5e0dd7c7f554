using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Roadmap.Sources.Redis;

/// <summary>The two cache counters of <c>INFO stats</c>: lookups of keys that existed, and of keys that did not.</summary>
/// <param name="Hits">keyspace_hits: counts up from the server's start (or its last CONFIG RESETSTAT).</param>
/// <param name="Misses">keyspace_misses: likewise.</param>
public readonly record struct RedisStats(long Hits, long Misses)
{
    /// <summary>
    /// The lookups since <paramref name="previous"/>. When either counter went down the server restarted (or ran
    /// CONFIG RESETSTAT), which zeroes both: the increase is then the current counts, never negative. A reset followed
    /// by more lookups than before within one interval cannot be told from growth, as with any Prometheus counter.
    /// </summary>
    public RedisStats IncreaseSince(RedisStats previous) =>
        Hits < previous.Hits || Misses < previous.Misses ? this : new RedisStats(Hits - previous.Hits, Misses - previous.Misses);
}

/// <summary>Reads the reply of <c>INFO stats</c>: <c>field:value</c> lines under <c># Section</c> headers.</summary>
public static class RedisInfo
{
    public const string HitsField = "keyspace_hits";
    public const string MissesField = "keyspace_misses";

    /// <summary>Finds keyspace_hits and keyspace_misses; when one is missing or not a count, says which.</summary>
    public static bool TryParseStats(string text, out RedisStats stats, [NotNullWhen(false)] out string? problem)
    {
        stats = default;
        long? hits = null;
        long? misses = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line.StartsWith('#'))
            {
                continue;
            }

            var field = line[..colon];
            if (field is not (HitsField or MissesField))
            {
                continue;
            }

            var value = line[(colon + 1)..];
            if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                problem = $"INFO stats has a {field} that is not a count: \"{Shorten(value)}\"";
                return false;
            }

            if (field == HitsField)
            {
                hits = count;
            }
            else
            {
                misses = count;
            }
        }

        if (hits is null || misses is null)
        {
            problem = $"INFO stats has no {(hits is null ? HitsField : MissesField)}";
            return false;
        }

        stats = new RedisStats(hits.Value, misses.Value);
        problem = null;
        return true;
    }

    private static string Shorten(string value) => ServerText.Shorten(value, 40);
}
