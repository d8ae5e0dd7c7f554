using Roadmap.Core.Evaluation;

namespace Roadmap.Storage;

/// <summary>
/// Builds hour and day rollups from samples arriving sorted by (series, ts), handing each bucket to
/// <paramref name="write"/> when it is complete. For a whole table of samples at once (a migration, a copy, the
/// storage bench's dataset); the writer's batches go through <see cref="Rollups"/> instead.
/// </summary>
internal sealed class RollupBuilder(Action<RollupLevel, RollupRow> write)
{
    private long _series = long.MinValue;
    private long _hour = long.MinValue;
    private long _day = long.MinValue;
    private SeriesSummary? _hourSummary;
    private SeriesSummary? _daySummary;

    public void Add(long series, long ts, double value)
    {
        var hour = RollupLevel.Hour.StartOf(ts);
        var day = RollupLevel.Day.StartOf(ts);
        if (series != _series || hour != _hour)
        {
            WriteHour();
            _hour = hour;
            _hourSummary = SeriesSummary.Empty();
        }

        if (series != _series || day != _day)
        {
            WriteDay();
            _day = day;
            _daySummary = SeriesSummary.Empty();
        }

        _series = series;
        var p = new Point(ts, value);
        _hourSummary!.Add(p);
        _daySummary!.Add(p);
    }

    public void Complete()
    {
        WriteHour();
        WriteDay();
    }

    private void WriteHour()
    {
        if (_hourSummary is { Count: > 0 } s)
        {
            write(RollupLevel.Hour, new RollupRow(_series, _hour, s));
        }

        _hourSummary = null;
    }

    private void WriteDay()
    {
        if (_daySummary is { Count: > 0 } s)
        {
            write(RollupLevel.Day, new RollupRow(_series, _day, s));
        }

        _daySummary = null;
    }
}
