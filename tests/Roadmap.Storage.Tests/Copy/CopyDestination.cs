using Roadmap.Storage.Copy;

namespace Roadmap.Storage.Tests.Copy;

/// <summary>
/// One destination backend of a copy under test: a fresh, empty store of its own, opened as a copy's destination and
/// as the service opens it (to compare what windows and histories answer). Each backend has one subclass, and
/// <see cref="StorageCopierTests"/> one concrete subclass per backend.
/// </summary>
public abstract class CopyDestination : IDisposable
{
    /// <summary>Opens (the first time: creates) the store as a copy's destination.</summary>
    public abstract IHistoryImport OpenImport(IHistoryExport source);

    /// <summary>Opens the store as the service does.</summary>
    public abstract IRoadmapStorage OpenStorage();

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
