using System.Runtime.InteropServices;

namespace Kv.Engine.IO;

/// <summary>The few libc calls .NET does not expose: directory fsync, hard links, O_DIRECT, early write-back.</summary>
internal static partial class Posix
{
    public const int O_RDONLY = 0x0;
    public const int O_DIRECTORY = 0x10000; // Linux x86-64 and arm64

    // errno values (Linux) that mean "link(2) cannot work here", not "the operation failed"
    public const int EPERM = 1;
    public const int EXDEV = 18;
    public const int EMLINK = 31;
    public const int ENOSYS = 38;
    public const int EOPNOTSUPP = 95;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    public const uint SYNC_FILE_RANGE_WRITE = 2;

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    public static partial int SyncFileRange(int fd, long offset, long length, uint flags);

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Link(string existing, string link);
}
