using System.Net.Sockets;

namespace Kv.Node.Resp.Net;

/// <summary>How a <see cref="RespConnection"/> moves bytes: the runtime's sockets or the server's own epoll loop.</summary>
internal interface IClientTransport
{
    Socket Socket { get; }

    /// <summary>The receive side, read by one reader at a time; it stays open when the reader completes.</summary>
    Stream Input { get; }

    /// <summary>Sends some of <paramref name="data"/> (at least one byte) and returns how much; one send at a time.</summary>
    ValueTask<int> SendAsync(ReadOnlyMemory<byte> data);

    /// <summary>Closes at once with a reset (a client over its output limit); a pending send fails.</summary>
    void Abort();

    /// <summary>Shuts both directions down and releases the socket, once the connection's loops are done.</summary>
    void Close();
}

/// <summary>The runtime's sockets (<see cref="NetworkStream"/> and <see cref="Socket.SendAsync(ReadOnlyMemory{byte}, SocketFlags, CancellationToken)"/>):
/// used where <see cref="EpollLoop"/> is not supported, or when configured.</summary>
internal sealed class RuntimeSocketTransport(Socket socket) : IClientTransport
{
    public Socket Socket { get; } = socket;

    public Stream Input { get; } = new NetworkStream(socket, ownsSocket: false);

    public ValueTask<int> SendAsync(ReadOnlyMemory<byte> data) => Socket.SendAsync(data, SocketFlags.None);

    public void Abort() => Socket.Close(0);

    public void Close() => ShutdownAndDispose(Socket);

    /// <summary>Shuts both directions down (a socket already reset or closed is fine) and disposes.</summary>
    internal static void ShutdownAndDispose(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        socket.Dispose();
    }
}
