using Roadmap.Storage;
using Roadmap.Worker.Cluster;

namespace Roadmap.Worker.Tests.Cluster;

public sealed class WindowLedgerTests
{
    [Fact]
    public void Replace_WindowsOfThisAndOtherNodes_OwnsOnlyItsOwnAndKnowsTheEvaluator()
    {
        var ledger = new WindowLedger("a");

        ledger.Replace([new ShardWindow(1, 5000, "a"), new ShardWindow(2, 5000, "b"), new ShardWindow(IClusterStore.EvaluationShard, 0, "b")], 5000, ledger.Version);

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
    public void Replace_ReadBeforeAnAdd_KeepsWhatWasAddedMeanwhile()
    {
        // A read-back that started before a claim committed must not drop the window the claim just won.
        var ledger = new WindowLedger("a");
        var readSince = ledger.Version;
        ledger.Add([new ShardWindow(2, 0, "a")], 5000);

        ledger.Replace([new ShardWindow(1, 0, "a")], 5000, readSince);

        Assert.True(ledger.Owns(1, 0));
        Assert.True(ledger.Owns(2, 0));
    }

    [Fact]
    public void Replace_ReadAfterAnAdd_TheDatabaseWins()
    {
        var ledger = new WindowLedger("a");
        ledger.Add([new ShardWindow(2, 0, "a")], 5000);

        ledger.Replace([], 5000, ledger.Version);

        Assert.False(ledger.Owns(2, 0));
        Assert.Equal(0, ledger.LastEnd);
    }

    [Fact]
    public void LastEnd_OwnedEvaluationWindow_CountsWhenItsLengthIsGiven()
    {
        var ledger = new WindowLedger("a", evaluationMs: 15000);

        ledger.Add([new ShardWindow(1, 0, "a"), new ShardWindow(IClusterStore.EvaluationShard, 15000, "a")], 5000);

        Assert.Equal(30000, ledger.LastEnd);
    }
}
