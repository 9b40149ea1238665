using System.Runtime.InteropServices;

namespace Kv.Node.Resp.Net;

/// <summary>The libc calls behind <see cref="EpollLoop"/>: epoll, eventfd, recv and send on raw descriptors.</summary>
/// <remarks>Linux x86-64 only: there the kernel's <c>struct epoll_event</c> is packed (12 bytes); on other
/// architectures it is not, so <see cref="IsSupported"/> is false there and the server uses the runtime's sockets.</remarks>
internal static unsafe partial class Epoll
{
    public const int CloseOnExec = 0x80000;          // EPOLL_CLOEXEC, EFD_CLOEXEC
    public const int EventFdNonBlocking = 0x800;     // EFD_NONBLOCK
    public const int ControlAdd = 1;                 // EPOLL_CTL_ADD
    public const uint In = 0x001, Out = 0x004, Error = 0x008, HangUp = 0x010, ReadHangUp = 0x2000, EdgeTriggered = 1u << 31;
    public const int EINTR = 4, EAGAIN = 11, EBADF = 9;
    public const int MsgNoSignal = 0x4000;           // MSG_NOSIGNAL: a peer that went away gives EPIPE, not SIGPIPE
    public const int MsgDontWait = 0x40;             // MSG_DONTWAIT: never block, whatever the descriptor's mode

    public static bool IsSupported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct Event
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int Create(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int Control(int epfd, int op, int fd, Event* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int Wait(int epfd, Event* events, int maxEvents, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Receive(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    public static IOException Failure(string call, int errno) =>
        new($"{call} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
}
