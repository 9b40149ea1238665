namespace Kv.Gossip.Transport;

/// <summary>Where a node listens for internode traffic (gossip and replica messages).</summary>
public readonly record struct NodeAddress(string Host, int Port)
{
    public override string ToString() => $"{Host}:{Port}";

    public static bool TryParse(string text, out NodeAddress address)
    {
        address = default;
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out var port) || port is <= 0 or > 65535) return false;
        address = new NodeAddress(text[..colon], port);
        return true;
    }
}

/// <summary>Which subsystem a message belongs to, so one transport carries them all.</summary>
public enum MessageChannel : byte
{
    Gossip = 1,
    Internode = 2,
}

/// <summary>
/// The seam between cluster logic and the network. Real nodes use TCP; the simulator uses an
/// in-memory network with latency, drops and partitions on virtual time.
/// </summary>
/// <remarks>
/// Delivery is best effort: a message may be delayed or lost (peer down, queue full, partition),
/// but is never corrupted, duplicated or reordered with respect to other messages on the same
/// (source, destination) link. Callers that need an answer use request ids and timeouts above this.
/// <see cref="Send"/> never blocks; it returns false when the message was refused at once
/// (bounded queue full, transport closed). Thread-safe.
/// </remarks>
public interface IMessageTransport : IAsyncDisposable
{
    NodeAddress LocalAddress { get; }

    /// <summary>Registers the handler for one channel. Handlers run on transport threads and must not block.</summary>
    void Register(MessageChannel channel, IMessageHandler handler);

    /// <summary>Queues <paramref name="message"/> for <paramref name="destination"/>. The transport copies what it keeps.</summary>
    bool Send(NodeAddress destination, MessageChannel channel, ReadOnlySpan<byte> message);
}

public interface IMessageHandler
{
    /// <summary>One whole message from <paramref name="from"/> (its listen address). The span is valid only during the call.</summary>
    void OnMessage(NodeAddress from, ReadOnlySpan<byte> message);
}
