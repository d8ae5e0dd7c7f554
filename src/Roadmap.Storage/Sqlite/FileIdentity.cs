using System.Runtime.InteropServices;

namespace Roadmap.Storage.Sqlite;

/// <summary>
/// Which file a path names: its device and inode. Two reads that differ mean the path now names another file (it was
/// replaced); a read that finds nothing means the file was deleted or moved away. The open database keeps its inode
/// alive, so the number cannot be reused by a new file while the service still has the old one open.
/// </summary>
/// <remarks>
/// Read with Linux's statx(2), whose buffer has one layout on every architecture. Where it is missing (other systems,
/// an old kernel or a sandbox without it) <see cref="Read"/> reports <see cref="FileIdentityRead.Unsupported"/> and the
/// caller can only tell whether the path exists.
/// </remarks>
public readonly partial record struct FileIdentity(ulong Device, ulong Inode)
{
    private const int AtFdCwd = -100;
    private const uint StatxIno = 0x100;
    private const int Enoent = 2;
    private const int Enotdir = 20;
    private const int Enosys = 38;
    private static volatile bool _unsupported = !OperatingSystem.IsLinux();

    /// <summary>Reads the identity of the file at <paramref name="path"/> (symbolic links followed).</summary>
    public static FileIdentityRead Read(string path, out FileIdentity identity)
    {
        identity = default;
        if (_unsupported)
        {
            return FileIdentityRead.Unsupported;
        }

        try
        {
            // struct statx is 256 bytes: stx_ino at 32, stx_dev_major at 136, stx_dev_minor at 140.
            Span<byte> buffer = stackalloc byte[256];
            if (Statx(AtFdCwd, path, 0, StatxIno, buffer) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Enosys)
                {
                    _unsupported = true;
                    return FileIdentityRead.Unsupported;
                }

                return errno is Enoent or Enotdir ? FileIdentityRead.Missing : FileIdentityRead.Unknown;
            }

            var device = ((ulong)BitConverter.ToUInt32(buffer[136..]) << 32) | BitConverter.ToUInt32(buffer[140..]);
            identity = new FileIdentity(device, BitConverter.ToUInt64(buffer[32..]));
            return FileIdentityRead.Found;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _unsupported = true;
            return FileIdentityRead.Unsupported;
        }
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, Span<byte> buffer);
}

/// <summary>What <see cref="FileIdentity.Read"/> found.</summary>
public enum FileIdentityRead
{
    /// <summary>The path names a file; its identity was read.</summary>
    Found,

    /// <summary>Nothing at the path, or a folder on the way is missing or not a folder.</summary>
    Missing,

    /// <summary>The identity cannot be read here (not Linux, no statx); only existence can be checked.</summary>
    Unsupported,

    /// <summary>statx failed for another reason (permissions, I/O): no judgement either way.</summary>
    Unknown,
}
