using Kv.Gossip.Transport;

namespace Kv.Simulation;

/// <summary>
/// <see cref="IMessageTransport"/> of one simulated node over a <see cref="SimulatedNetwork"/>. Sends are
/// refused while the node is not running (a crashed or paused process sends nothing) and after disposal.
/// Handlers run on the simulation thread, one message at a time.
/// </summary>
public sealed class SimulatedTransport : IMessageTransport
{
    private readonly SimulatedNetwork _network;
    private readonly IMessageHandler?[] _handlers = new IMessageHandler?[256];
    private readonly int _incarnation;
    private bool _disposed;

    internal SimulatedTransport(SimulatedNetwork network, SimulatedNode node, NodeAddress address)
    {
        _network = network;
        Node = node;
        LocalAddress = address;
        _incarnation = node.Incarnation;
    }

    public SimulatedNode Node { get; }

    public NodeAddress LocalAddress { get; }

    public void Register(MessageChannel channel, IMessageHandler handler) => _handlers[(byte)channel] = handler;

    public bool Send(NodeAddress destination, MessageChannel channel, ReadOnlySpan<byte> message)
    {
        if (_disposed || Node.State != NodeState.Running || Node.Incarnation != _incarnation) return false;
        return _network.Send(this, destination, (byte)channel, message);
    }

    internal void Deliver(NodeAddress from, byte channel, ReadOnlySpan<byte> message)
    {
        if (_disposed || Node.Incarnation != _incarnation) return;
        _handlers[channel]?.OnMessage(from, message);
    }

    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return ValueTask.CompletedTask;
    }
}
