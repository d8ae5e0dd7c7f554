namespace Roadmap.Storage.Tests;

/// <summary>When the storage tests' data happens.</summary>
internal static class TestClock
{
    /// <summary>
    /// A UTC midnight a week before the day the tests run. The writers under test run on the system clock with the
    /// default retention (35 days of raw samples), so data at a fixed date would be swept away by retention once that
    /// date is more than 35 days old; a week back leaves room for days of test data after it, all inside retention.
    /// </summary>
    public static readonly DateTimeOffset RecentMidnight = new(DateTime.UtcNow.Date.AddDays(-7), TimeSpan.Zero);
}
