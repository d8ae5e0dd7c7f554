using Roadmap.Storage;
using Roadmap.Worker.Cluster;

namespace Roadmap.Worker.Tests.Cluster;

public sealed class WindowLedgerTests
{
    [Fact]
    public void Replace_WindowsOfThisAndOtherNodes_OwnsOnlyItsOwnAndKnowsTheEvaluator()
    {
        var ledger = new WindowLedger("a");

        ledger.Replace([new ShardWindow(1, 5000, "a"), new ShardWindow(2, 5000, "b"), new ShardWindow(IClusterStore.EvaluationShard, 0, "b")], 5000);

        Assert.True(ledger.Owns(1, 5000));
        Assert.False(ledger.Owns(2, 5000));
        Assert.False(ledger.Owns(1, 10000));
        Assert.Equal("b", ledger.EvaluatorOf(0));
        Assert.Null(ledger.EvaluatorOf(15000));
        Assert.Equal(10000, ledger.LastEnd);
    }

    [Fact]
    public void Add_ClaimsWrittenForAnotherNode_AreNotThisNodes()
    {
        var ledger = new WindowLedger("a");

        ledger.Add([new ShardWindow(1, 0, "b"), new ShardWindow(2, 0, "a")], 5000);

        Assert.False(ledger.Owns(1, 0));
        Assert.True(ledger.Owns(2, 0));
        Assert.Equal(1, ledger.ShardsHeldAt(4999, 5000));
        Assert.Equal(0, ledger.ShardsHeldAt(5000, 5000));
    }

    [Fact]
    public void Replace_AfterAdd_TheDatabaseWins()
    {
        var ledger = new WindowLedger("a");
        ledger.Add([new ShardWindow(2, 0, "a")], 5000);

        ledger.Replace([], 5000);

        Assert.False(ledger.Owns(2, 0));
        Assert.Equal(0, ledger.LastEnd);
    }
}
