using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Net;

/// <summary>Settings of a <see cref="TcpTransport"/>. Plain values; read once at start.</summary>
public sealed class TcpTransportOptions
{
    /// <summary>The IP address to listen on ("0.0.0.0" or "::" for all interfaces).</summary>
    public string ListenHost { get; set; } = "127.0.0.1";

    /// <summary>The internode (peer) port; 0 lets the OS choose one (tests).</summary>
    public int ListenPort { get; set; }

    /// <summary>
    /// The host peers should connect to and that this node names itself by in its hello. Defaults to
    /// <see cref="ListenHost"/>; required when listening on a wildcard address.
    /// </summary>
    public string? AdvertisedHost { get; set; }

    /// <summary>When set, inbound peer connections are received through this loop (the node's epoll socket engine)
    /// instead of the runtime's sockets; the owner disposes it after the transport.</summary>
    internal Resp.Net.EpollLoop? SocketLoop { get; init; }

    /// <summary>Largest accepted frame (channel + payload). Bigger frames are refused on send and fatal on receive.</summary>
    public int MaxFrameLength { get; set; } = InternodeFrame.DefaultMaxFrameLength;

    /// <summary>Messages waiting per peer (connecting, in backoff, or slower than we send). Send returns false past it.</summary>
    public int MaxQueuedMessagesPerPeer { get; set; } = 16_384;

    /// <summary>Encoded bytes waiting per peer. Send returns false past it.</summary>
    public long MaxQueuedBytesPerPeer { get; set; } = 64L * 1024 * 1024;

    /// <summary>A writer flushes after at most this many bytes, even if more are queued.</summary>
    public int MaxBatchBytes { get; set; } = 256 * 1024;

    /// <summary>First reconnect delay; doubles per failed attempt up to <see cref="ReconnectBackoffMax"/>, with jitter.</summary>
    public TimeSpan ReconnectBackoffInitial { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan ReconnectBackoffMax { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A connection that lived at least this long resets the backoff to its initial delay.</summary>
    public TimeSpan ReconnectBackoffReset { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>An accepted connection that has not sent its hello within this time is closed.</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
        if (ListenPort is < 0 or > 65535) throw new ArgumentException($"internode listen port {ListenPort} is outside 0..65535");
        if (MaxFrameLength < 16) throw new ArgumentException($"internode max frame length {MaxFrameLength} is too small (at least 16 bytes)");
        if (MaxQueuedMessagesPerPeer < 1) throw new ArgumentException("internode MaxQueuedMessagesPerPeer must be at least 1");
        if (MaxQueuedBytesPerPeer < InternodeFrame.HeaderSize) throw new ArgumentException("internode MaxQueuedBytesPerPeer is too small");
        if (ReconnectBackoffInitial <= TimeSpan.Zero || ReconnectBackoffMax < ReconnectBackoffInitial)
            throw new ArgumentException("internode reconnect backoff: initial must be positive and no larger than max");
    }
}
