namespace Roadmap.Storage;

/// <summary>
/// A failure of the store, whatever the backend: the one exception type that leaves Roadmap.Storage. Backends wrap
/// their drivers' exceptions in it, so callers above never name a driver.
/// </summary>
/// <param name="message">For an operator: what failed, with the driver's own words where they help.</param>
/// <param name="health">What the failure means for writing (<see cref="StorageHealth.Failing"/> unless known better).</param>
/// <param name="cause">A short description of the kind of failure for logs and <see cref="IPollWriter.LastError"/>
/// (e.g. "database locked by another process"); default "database error".</param>
public sealed class StorageException(string message, Exception? inner = null, StorageHealth health = StorageHealth.Failing, string cause = "database error")
    : Exception(message, inner)
{
    /// <summary>What the failure means for writing: locked, disk full, lost, or failing otherwise.</summary>
    public StorageHealth Health { get; } = health;

    /// <summary>A short description of the kind of failure (e.g. "disk full").</summary>
    public string Cause { get; } = cause;
}
