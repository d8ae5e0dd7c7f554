using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Roadmap.Core.Config;

/// <summary>
/// Reads a whole file that must be a regular file (a symbolic link to one is fine) of at most a given size: the
/// config file and every <c>*File</c> secret. A FIFO, a device, a directory or a socket is refused with a reason, and
/// nothing ever blocks or reads without end.
/// </summary>
/// <remarks>
/// Checking the type by path before opening would leave a window in which the path is swapped for a FIFO, and
/// open(2) of a FIFO without a writer blocks until one comes (a reload then hangs forever, and every later one with
/// it). So on Linux the file is opened with O_NONBLOCK, which never blocks in open(2) (a socket fails with ENXIO),
/// and the type and size are then taken from the opened descriptor (statx on the descriptor, the same file that is
/// read), not from the path. .NET exposes neither, hence the two libc calls. The size is checked before reading and
/// the read stops one byte past the cap, so a file that grows while it is read, or a device that reports size 0
/// and never ends, is still refused. Elsewhere (Windows, macOS) the file is read through <see cref="FileStream"/>
/// with the same cap; only the FIFO guard is Linux's.
/// </remarks>
public static partial class RegularFile
{
    private const int ReadOnly = 0; // O_RDONLY
    private const int NonBlocking = 0x800; // O_NONBLOCK: the same value on x86-64 and arm64 Linux
    private const int NoControllingTerminal = 0x100; // O_NOCTTY
    private const int CloseOnExec = 0x80000; // O_CLOEXEC
    private const int EmptyPath = 0x1000; // AT_EMPTY_PATH: statx of the descriptor itself
    private const uint StatxType = 0x1; // STATX_TYPE
    private const uint StatxSize = 0x200; // STATX_SIZE
    private const int StatxModeOffset = 28; // struct statx is the same on every architecture: stx_mode is a u16 at 28
    private const int StatxSizeOffset = 40; // and stx_size a u64 at 40
    private const int TypeMask = 0xF000; // S_IFMT

    private static volatile bool _noLibc;
    private static volatile bool _noStatx;

    /// <summary>The content, or why there is none.</summary>
    /// <param name="Bytes">The whole file; null when it could not be read.</param>
    /// <param name="Problem">Why it could not be read, in words to follow "cannot read FILE: "; null when it was.</param>
    /// <param name="TooLarge">The file holds more than the cap (checked before and while reading).</param>
    public readonly record struct Result(byte[]? Bytes, string? Problem, bool TooLarge);

    /// <summary>Reads <paramref name="path"/> when it is a regular file of at most <paramref name="maxBytes"/> bytes.</summary>
    public static Result Read(string path, int maxBytes)
    {
        if (OperatingSystem.IsLinux() && !_noLibc)
        {
            try
            {
                return ReadLinux(path, maxBytes);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // libc not found under that name (a build that does not map it): read as elsewhere, still capped.
                _noLibc = true;
            }
        }

        return ReadPortable(path, maxBytes);
    }

    private static Result ReadLinux(string path, int maxBytes)
    {
        var fd = Open(path, ReadOnly | NonBlocking | NoControllingTerminal | CloseOnExec);
        if (fd < 0)
        {
            return Failed(Marshal.GetLastPInvokeError() switch
            {
                2 or 20 => "no such file", // ENOENT, ENOTDIR
                1 or 13 => "permission denied", // EPERM, EACCES
                6 => "it is a socket or a device, not a regular file", // ENXIO
                21 => "it is a directory", // EISDIR
                40 => "too many levels of symbolic links", // ELOOP
                var errno => Marshal.GetPInvokeErrorMessage(errno),
            });
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
        if (TypeAndSize(handle) is not var (type, size))
        {
            // No statx (glibc before 2.28, Linux before 4.11): a regular file seeks, a FIFO or a socket does not; a
            // device is read up to the cap, without blocking.
            if (!stream.CanSeek)
            {
                return Failed("it is a FIFO or a socket, not a regular file");
            }
        }
        else if (type != 0x8000)
        {
            return Failed(type switch
            {
                0x1000 => "it is a FIFO (named pipe), not a regular file",
                0x2000 => "it is a character device, not a regular file",
                0x4000 => "it is a directory",
                0x6000 => "it is a block device, not a regular file",
                0xC000 => "it is a socket, not a regular file",
                _ => "it is not a regular file",
            });
        }
        else if (size > (ulong)maxBytes)
        {
            return new Result(null, null, TooLarge: true);
        }

        return ReadAll(stream, maxBytes);
    }

    private static Result ReadPortable(string path, int maxBytes)
    {
        if (Directory.Exists(path))
        {
            return Failed("it is a directory");
        }

        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            return ReadAll(stream, maxBytes);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Failed("no such file");
        }
        catch (UnauthorizedAccessException)
        {
            return Failed("permission denied");
        }
        catch (IOException e)
        {
            return Failed(e.Message);
        }
    }

    private static Result ReadAll(FileStream stream, int maxBytes)
    {
        var buffer = new byte[maxBytes + 1];
        var length = 0;
        try
        {
            int n;
            // At most one byte past the cap: that byte says the file is too large, however large it is or grows.
            while (length < buffer.Length && (n = stream.Read(buffer, length, buffer.Length - length)) > 0)
            {
                length += n;
            }
        }
        catch (IOException e)
        {
            return Failed(e.Message);
        }

        return length > maxBytes ? new Result(null, null, TooLarge: true) : new Result(buffer.AsSpan(0, length).ToArray(), null, false);
    }

    private static Result Failed(string problem) => new(null, problem, false);

    /// <summary>The S_IFMT bits and the size of an open file; null when statx is not there.</summary>
    private static (int Type, ulong Size)? TypeAndSize(SafeFileHandle handle)
    {
        if (_noStatx)
        {
            return null;
        }

        Span<byte> buffer = stackalloc byte[256];
        try
        {
            if (Statx((int)handle.DangerousGetHandle(), "", EmptyPath, StatxType | StatxSize, ref MemoryMarshal.GetReference(buffer)) != 0)
            {
                _noStatx = Marshal.GetLastPInvokeError() == 38; // ENOSYS: a kernel before 4.11
                return null;
            }
        }
        catch (EntryPointNotFoundException)
        {
            _noStatx = true;
            return null;
        }

        var mode = BitConverter.ToUInt16(buffer.Slice(StatxModeOffset, 2));
        var size = BitConverter.ToUInt64(buffer.Slice(StatxSizeOffset, 8));
        return (mode & TypeMask, size);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directory, string path, int flags, uint mask, ref byte buffer);
}
