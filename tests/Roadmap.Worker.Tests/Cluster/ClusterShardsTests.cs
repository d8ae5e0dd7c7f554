using Roadmap.Worker.Cluster;

namespace Roadmap.Worker.Tests.Cluster;

public sealed class ClusterShardsTests
{
    private static readonly string[] Three = ["a", "b", "c"];

    [Fact]
    public void Home_ThreeNodes_SharesOutTheShardsRoughlyEvenly()
    {
        var counts = Enumerable.Range(0, 128).GroupBy(s => ClusterShards.Home(s, Three)).ToDictionary(g => g.Key!, g => g.Count());

        Assert.Equal(3, counts.Count);
        // 128 / 3 ≈ 43: rendezvous hashing is even in expectation; a node with under 25 or over 60 would mean a bad mix.
        Assert.All(counts.Values, n => Assert.InRange(n, 25, 60));
    }

    [Fact]
    public void Home_NodeLeaves_MovesOnlyItsOwnShards()
    {
        var before = Enumerable.Range(0, 128).Select(s => ClusterShards.Home(s, Three)).ToList();
        var after = Enumerable.Range(0, 128).Select(s => ClusterShards.Home(s, ["a", "c"])).ToList();

        for (var s = 0; s < 128; s++)
        {
            if (before[s] != "b")
            {
                Assert.Equal(before[s], after[s]);
            }
            else
            {
                Assert.NotEqual("b", after[s]);
            }
        }
    }

    [Fact]
    public void Home_OrderOfTheNodeList_DoesNotMatter()
    {
        for (var s = 0; s < 64; s++)
        {
            Assert.Equal(ClusterShards.Home(s, Three), ClusterShards.Home(s, ["c", "a", "b"]));
        }
    }

    [Fact]
    public void Home_NoNode_IsNull() => Assert.Null(ClusterShards.Home(3, []));

    [Fact]
    public void Of_SourceIds_AreStableAndInRange()
    {
        var shards = Enumerable.Range(0, 1000).Select(i => ClusterShards.Of($"source-{i}", 128)).ToList();

        Assert.All(shards, s => Assert.InRange(s, 0, 127));
        Assert.True(shards.Distinct().Count() > 100, "1,000 ids should fill most of 128 shards");
        // FNV-1a of "a" is 0xe40c292c; the shard must not depend on the process (string.GetHashCode would).
        Assert.Equal((int)(0xe40c292cu % 128u), ClusterShards.Of("a", 128));
    }

    [Theory]
    [InlineData(0, 5000, 0)]
    [InlineData(4999, 5000, 0)]
    [InlineData(5000, 5000, 5000)]
    [InlineData(-1, 5000, -5000)]
    public void WindowStart_AnyInstant_IsTheStartOfItsWindow(long ms, long window, long expected) =>
        Assert.Equal(expected, ClusterShards.WindowStart(ms, window));
}
