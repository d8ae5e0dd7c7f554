using Roadmap.Sources.Redis;

namespace Roadmap.Sources.Tests.Redis;

public class RedisInfoTests
{
    // The shape of a real Redis 7 reply (trimmed): CRLF lines, a section header, fields around the two we want.
    private const string Stats =
        "# Stats\r\ntotal_connections_received:3\r\ntotal_commands_processed:41\r\nexpired_keys:0\r\n" +
        "keyspace_hits:1234\r\nkeyspace_misses:56\r\npubsub_channels:0\r\ntotal_reads_processed:44\r\n";

    [Fact]
    public void TryParseStats_RealReply_ReadsHitsAndMisses()
    {
        var ok = RedisInfo.TryParseStats(Stats, out var stats, out var problem);

        Assert.True(ok, problem);
        Assert.Equal(new RedisStats(1234, 56), stats);
    }

    [Fact]
    public void TryParseStats_LfLinesInAnyOrder_ReadsHitsAndMisses()
    {
        var ok = RedisInfo.TryParseStats("keyspace_misses:0\nkeyspace_hits:18446744\n", out var stats, out _);

        Assert.True(ok);
        Assert.Equal(new RedisStats(18446744, 0), stats);
    }

    [Theory]
    [InlineData("", "INFO stats has no keyspace_hits")]
    [InlineData("# Stats\r\nkeyspace_misses:5\r\n", "INFO stats has no keyspace_hits")]
    [InlineData("# Stats\r\nkeyspace_hits:5\r\n", "INFO stats has no keyspace_misses")]
    [InlineData("# Stats\r\nkeyspace_hits_total:5\r\nkeyspace_misses:1\r\n", "INFO stats has no keyspace_hits")]
    [InlineData("ERR unknown section\r\n", "INFO stats has no keyspace_hits")]
    [InlineData("keyspace_hits:lots\r\nkeyspace_misses:1\r\n", "INFO stats has a keyspace_hits that is not a count: \"lots\"")]
    [InlineData("keyspace_hits:1\r\nkeyspace_misses:-3\r\n", "INFO stats has a keyspace_misses that is not a count: \"-3\"")]
    [InlineData("keyspace_hits:1.5\r\nkeyspace_misses:1\r\n", "INFO stats has a keyspace_hits that is not a count: \"1.5\"")]
    public void TryParseStats_FieldMissingOrNotACount_SaysWhich(string text, string expected)
    {
        var ok = RedisInfo.TryParseStats(text, out _, out var problem);

        Assert.False(ok);
        Assert.Equal(expected, problem);
    }

    [Theory]
    [InlineData(100, 10, 130, 15, 30, 5)] // growth
    [InlineData(100, 10, 100, 10, 0, 0)] // no lookups
    [InlineData(100, 10, 7, 3, 7, 3)] // restart: both lower
    [InlineData(100, 10, 0, 0, 0, 0)] // restart, nothing since
    [InlineData(100, 10, 120, 2, 120, 2)] // misses went down: a reset, though hits passed their old value
    [InlineData(100, 10, 4, 50, 4, 50)] // hits went down
    public void IncreaseSince_CountersGrowOrReset_NeverNegative(long hits0, long misses0, long hits1, long misses1, long hits, long misses)
    {
        var increase = new RedisStats(hits1, misses1).IncreaseSince(new RedisStats(hits0, misses0));

        Assert.Equal(new RedisStats(hits, misses), increase);
    }
}
