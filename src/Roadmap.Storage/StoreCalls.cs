namespace Roadmap.Storage;

/// <summary>How every backend runs a call of the store: its driver's failures leave as a <see cref="StorageException"/>.</summary>
internal static class StoreCalls
{
    /// <param name="isFailure">Whether an exception is a failure of the store (the backend's drivers').</param>
    /// <param name="wrap">The backend's translation into a <see cref="StorageException"/> with its health.</param>
    public static T Run<T>(Func<T> action, Func<Exception, bool> isFailure, Func<Exception, StorageException> wrap)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (isFailure(e))
        {
            throw wrap(e);
        }
    }
}
