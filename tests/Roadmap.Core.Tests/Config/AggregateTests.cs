using Roadmap.Core.Config;

namespace Roadmap.Core.Tests.Config;

public class AggregateTests
{
    [Theory]
    [InlineData("avg", Aggregate.Avg)]
    [InlineData("P95", Aggregate.P95)]
    [InlineData(" ratio ", Aggregate.Ratio)]
    [InlineData("increase", Aggregate.Increase)]
    public void TryParse_KnownName_ReturnsAggregate(string text, Aggregate expected)
    {
        Assert.True(AggregateNames.TryParse(text, out var aggregate));
        Assert.Equal(expected, aggregate);
    }

    [Theory]
    [InlineData("")]
    [InlineData("mean")]
    [InlineData("3")]
    [InlineData("p97")]
    public void TryParse_UnknownName_ReturnsFalse(string text)
    {
        Assert.False(AggregateNames.TryParse(text, out _));
    }

    [Theory]
    [InlineData("min,max")]
    [InlineData("avg, min")]
    public void TryParse_CommaSeparatedNames_ReturnsFalse(string text)
    {
        // Enum.TryParse reads "min,max" as Min | Max, which is Last.
        Assert.False(AggregateNames.TryParse(text, out _));
    }

    [Fact]
    public void All_ListsEveryAggregateLowercase()
    {
        Assert.Equal("avg, min, max, last, sum, count, p50, p90, p95, p99, increase, rate, ratio", AggregateNames.All);
    }
}
