using System.Collections.Concurrent;
using System.Threading.Channels;
using Kv.Gossip.Transport;

namespace Kv.Node.Tests.Cluster.Coordination;

/// <summary>
/// An in-memory network for chaos tests over real threads: each (source, destination) link is a queue
/// drained by its own task, which waits the link's delay and delivers in order (the transport contract);
/// links can be cut (partitions) and a node's transport can be closed (a crash). Faults are chosen by the
/// test's seeded random source, but thread timing is real, so a run is not replayable event for event
/// (the deterministic simulator in Kv.Simulation is for that).
/// </summary>
/// <remarks>Threading: thread-safe; handlers run on link tasks, one message at a time per link.</remarks>
internal sealed class FaultyNetwork
{
    private readonly ConcurrentDictionary<NodeAddress, FaultyTransport> _nodes = new();
    private readonly ConcurrentDictionary<(NodeAddress, NodeAddress), Channel<byte[]>> _links = new();
    private readonly ConcurrentDictionary<(NodeAddress, NodeAddress), bool> _cut = new();

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(3);

    public int Seed { get; init; }

    public static NodeAddress AddressOf(int index) => new("n" + index, 7000);

    public IMessageTransport Attach(int index)
    {
        var t = new FaultyTransport(this, AddressOf(index));
        _nodes[t.LocalAddress] = t;
        return t;
    }

    public void Cut(NodeAddress a, NodeAddress b)
    {
        _cut[(a, b)] = true;
        _cut[(b, a)] = true;
    }

    public void HealAll() => _cut.Clear();

    internal bool Send(NodeAddress from, NodeAddress to, ReadOnlySpan<byte> message)
    {
        if (_cut.ContainsKey((from, to))) return true; // lost silently, as on a partition
        var link = _links.GetOrAdd((from, to), key =>
        {
            var channel = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
            _ = DrainAsync(key.Item1, key.Item2, channel.Reader);
            return channel;
        });
        return link.Writer.TryWrite(message.ToArray());
    }

    private async Task DrainAsync(NodeAddress from, NodeAddress to, ChannelReader<byte[]> reader)
    {
        var random = new Random(HashCode.Combine(Seed, from, to));
        await foreach (var message in reader.ReadAllAsync())
        {
            var delay = random.Next((int)MaxDelay.TotalMilliseconds + 1);
            if (delay > 0) await Task.Delay(delay);
            if (_cut.ContainsKey((from, to))) continue;
            if (_nodes.TryGetValue(to, out var node)) node.Receive(from, message);
        }
    }

    internal void Detach(FaultyTransport transport) => _nodes.TryRemove(new KeyValuePair<NodeAddress, FaultyTransport>(transport.LocalAddress, transport));

    internal sealed class FaultyTransport(FaultyNetwork network, NodeAddress local) : IMessageTransport
    {
        private readonly IMessageHandler?[] _handlers = new IMessageHandler?[256];
        private volatile bool _closed;

        public NodeAddress LocalAddress { get; } = local;

        public void Register(MessageChannel channel, IMessageHandler handler) => _handlers[(byte)channel] = handler;

        public bool Send(NodeAddress destination, MessageChannel channel, ReadOnlySpan<byte> message)
        {
            if (_closed) return false;
            Span<byte> framed = new byte[message.Length + 1];
            framed[0] = (byte)channel;
            message.CopyTo(framed[1..]);
            return network.Send(LocalAddress, destination, framed);
        }

        internal void Receive(NodeAddress from, byte[] framed)
        {
            if (_closed) return;
            _handlers[framed[0]]?.OnMessage(from, framed.AsSpan(1));
        }

        public ValueTask DisposeAsync()
        {
            _closed = true;
            network.Detach(this);
            return ValueTask.CompletedTask;
        }
    }
}
