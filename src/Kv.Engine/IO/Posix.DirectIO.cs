using System.Runtime.InteropServices;

namespace Kv.Engine.IO;

// The calls behind PosixWritableFile: open with a mode, positional writes, fdatasync, ftruncate.
internal static partial class Posix
{
    public const int O_WRONLY = 0x1;
    public const int O_CREAT = 0x40;
    public const int O_TRUNC = 0x200;
    public const int O_CLOEXEC = 0x80000;
    public const int EINTR = 4;
    public const int EINVAL = 22;

    /// <summary>O_DIRECT differs between Linux architectures; null where it is not known.</summary>
    public static int? O_DIRECT => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 or Architecture.X86 => 0x4000,
        Architecture.Arm64 or Architecture.Arm => 0x10000,
        _ => null,
    };

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int OpenWithMode(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    public static unsafe partial nint PWrite(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    public static partial int Fdatasync(int fd);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int Ftruncate(int fd, long length);
}
