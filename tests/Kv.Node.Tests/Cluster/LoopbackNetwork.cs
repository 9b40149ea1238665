using System.Collections.Concurrent;
using Kv.Gossip.Transport;

namespace Kv.Node.Tests.Cluster;

/// <summary>
/// The smallest IMessageTransport for messaging tests: delivers synchronously inside Send (which also
/// exercises re-entrant sends from handlers), with switches to refuse or silently lose messages.
/// Not a network simulator: the real one lives in Kv.Simulation.
/// </summary>
internal sealed class LoopbackNetwork
{
    private readonly ConcurrentDictionary<NodeAddress, LoopbackTransport> _nodes = new();

    public LoopbackTransport Add(string name)
    {
        var transport = new LoopbackTransport(this, new NodeAddress(name, 7000));
        _nodes[transport.LocalAddress] = transport;
        return transport;
    }

    internal bool Deliver(NodeAddress from, NodeAddress to, MessageChannel channel, ReadOnlySpan<byte> message)
    {
        if (!_nodes.TryGetValue(to, out var node)) return false;
        node.Receive(from, channel, message);
        return true;
    }
}

internal sealed class LoopbackTransport(LoopbackNetwork network, NodeAddress local) : IMessageTransport
{
    private readonly ConcurrentDictionary<MessageChannel, IMessageHandler> _handlers = new();

    public NodeAddress LocalAddress { get; } = local;

    /// <summary>Send returns false (as a full queue does).</summary>
    public bool Refuse { get; set; }

    /// <summary>Send returns true but the message vanishes (as on a partition).</summary>
    public bool LoseOutgoing { get; set; }

    public int Sent;

    public void Register(MessageChannel channel, IMessageHandler handler) => _handlers[channel] = handler;

    public bool Send(NodeAddress destination, MessageChannel channel, ReadOnlySpan<byte> message)
    {
        if (Refuse) return false;
        Interlocked.Increment(ref Sent);
        if (LoseOutgoing) return true;
        return network.Deliver(LocalAddress, destination, channel, message);
    }

    internal void Receive(NodeAddress from, MessageChannel channel, ReadOnlySpan<byte> message)
    {
        if (_handlers.TryGetValue(channel, out var handler)) handler.OnMessage(from, message);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
