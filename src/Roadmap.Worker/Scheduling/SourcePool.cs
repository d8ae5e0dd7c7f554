using Roadmap.Sources;

namespace Roadmap.Worker.Scheduling;

/// <summary>The live sources, by id: created once from the config, disposed with the host.</summary>
public sealed class SourcePool(IEnumerable<ISource> sources) : IAsyncDisposable
{
    private readonly Dictionary<string, ISource> _sources = sources.ToDictionary(s => s.Config.Id);

    public IReadOnlyCollection<ISource> All => _sources.Values;

    public ISource? Find(string id) => _sources.GetValueOrDefault(id);

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _sources.Values)
        {
            await s.DisposeAsync();
        }
    }
}
