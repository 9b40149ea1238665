using System.Net.Sockets;

namespace Kv.Node.Resp.Net;

/// <summary>How a <see cref="RespConnection"/> moves bytes: the runtime's sockets or the server's own epoll loop.</summary>
internal interface IClientTransport
{
    Socket Socket { get; }

    /// <summary>Receives at least one byte into <paramref name="buffer"/>, or 0 at the end of the stream; one receive at
    /// a time. Canceling <paramref name="cancellationToken"/> ends a waiting receive with <see cref="OperationCanceledException"/>.</summary>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Sends some of <paramref name="data"/> (at least one byte) and returns how much; one send at a time.</summary>
    ValueTask<int> SendAsync(ReadOnlyMemory<byte> data);

    /// <summary>Closes at once with a reset (a client over its output limit); a pending send fails.</summary>
    void Abort();

    /// <summary>Shuts both directions down and releases the socket, once the connection's loops are done.</summary>
    void Close();
}

/// <summary>The runtime's sockets (<see cref="Socket.ReceiveAsync(Memory{byte}, SocketFlags, CancellationToken)"/> and <see cref="Socket.SendAsync(ReadOnlyMemory{byte}, SocketFlags, CancellationToken)"/>):
/// used where <see cref="EpollLoop"/> is not supported, or when configured.</summary>
internal sealed class RuntimeSocketTransport(Socket socket) : IClientTransport
{
    public Socket Socket { get; } = socket;

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        Socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

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
