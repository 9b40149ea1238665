using System.Buffers;
using Kv.Gossip.Transport;

namespace Kv.Simulation;

/// <summary>
/// An in-memory network between simulated nodes: per-link latency and loss (<see cref="LinkProfile"/>),
/// partitions between sets of nodes, and healing. Messages between two nodes stay in order (a later message
/// is never delivered before an earlier one on the same directed link), as the transport contract promises.
/// </summary>
/// <remarks>
/// Threading: simulation thread only. Randomness comes from the simulation's seeded source. A message to a
/// node that is crashed when it arrives is lost; to a paused node, it waits until the node resumes.
/// </remarks>
public sealed class SimulatedNetwork
{
    private readonly Simulation _simulation;
    private readonly Dictionary<NodeAddress, SimulatedTransport> _byAddress = [];
    private readonly Dictionary<(int From, int To), LinkProfile> _links = [];
    private long[]?[] _lastDelivery = []; // [from][to]: virtual time of the last delivery scheduled on that link
    private readonly HashSet<(int From, int To)> _blocked = [];
    private readonly Random _random;

    public SimulatedNetwork(Simulation simulation)
    {
        _simulation = simulation;
        _random = simulation.CreateRandom();
    }

    /// <summary>The profile of every link without its own.</summary>
    public LinkProfile DefaultLink { get; set; } = LinkProfile.Lan;

    public long MessagesSent { get; private set; }

    public long MessagesDelivered { get; private set; }

    public long MessagesDropped { get; private set; }

    public long BytesSent { get; private set; }

    /// <summary>
    /// The transport of <paramref name="node"/> at <paramref name="address"/>. Call it from the node's start
    /// function; after a restart the new software gets a fresh transport at the same address.
    /// </summary>
    public SimulatedTransport Attach(SimulatedNode node, NodeAddress address)
    {
        if (_byAddress.TryGetValue(address, out var existing) && existing.Node != node)
            throw new InvalidOperationException($"Address {address} already belongs to node {existing.Node.Name}.");
        var transport = new SimulatedTransport(this, node, address);
        _byAddress[address] = transport;
        return transport;
    }

    public void SetLink(SimulatedNode from, SimulatedNode to, LinkProfile profile) => _links[(from.Id, to.Id)] = profile;

    public void SetLinkBothWays(SimulatedNode a, SimulatedNode b, LinkProfile profile)
    {
        SetLink(a, b, profile);
        SetLink(b, a, profile);
    }

    /// <summary>Cuts every link between a node of <paramref name="sideA"/> and a node of <paramref name="sideB"/>, both directions.</summary>
    public void Partition(IEnumerable<SimulatedNode> sideA, IEnumerable<SimulatedNode> sideB)
    {
        var b = sideB.ToList();
        foreach (var x in sideA)
        {
            foreach (var y in b)
            {
                if (x == y) continue;
                _blocked.Add((x.Id, y.Id));
                _blocked.Add((y.Id, x.Id));
            }
        }
        _simulation.Trace.Record(TraceKind.Partition, _blocked.Count, 0, 0);
    }

    /// <summary>Cuts one direction only (asymmetric failures).</summary>
    public void Block(SimulatedNode from, SimulatedNode to) => _blocked.Add((from.Id, to.Id));

    /// <summary>Cuts <paramref name="node"/> off from every other node.</summary>
    public void Isolate(SimulatedNode node) => Partition([node], _simulation.Nodes);

    /// <summary>Removes every partition and block.</summary>
    public void Heal()
    {
        _blocked.Clear();
        _simulation.Trace.Record(TraceKind.Heal, 0, 0, 0);
    }

    public bool IsBlocked(SimulatedNode from, SimulatedNode to) => _blocked.Contains((from.Id, to.Id));

    internal bool Send(SimulatedTransport source, NodeAddress destination, byte channel, ReadOnlySpan<byte> message)
    {
        MessagesSent++;
        BytesSent += message.Length;
        var from = source.Node;
        if (!_byAddress.TryGetValue(destination, out var target))
        {
            Drop(from.Id, -1, message.Length);
            return true; // nobody listens there: lost, like a SYN to a dead host
        }
        var to = target.Node;
        if (_blocked.Contains((from.Id, to.Id)))
        {
            Drop(from.Id, to.Id, message.Length);
            return true;
        }
        var link = _links.TryGetValue((from.Id, to.Id), out var p) ? p : DefaultLink;
        if (link.DropProbability > 0 && _random.NextDouble() < link.DropProbability)
        {
            Drop(from.Id, to.Id, message.Length);
            return true;
        }
        var at = _simulation.NowTicks + link.SampleLatencyTicks(_random);
        at = KeepLinkOrder(from.Id, to.Id, at);
        var length = message.Length;
        var copy = ArrayPool<byte>.Shared.Rent(length);
        message.CopyTo(copy);
        var sourceAddress = source.LocalAddress;
        _simulation.Trace.Record(TraceKind.MessageSent, from.Id, to.Id, ((long)channel << 32) | (uint)length);
        _simulation.ScheduleAt(at, () =>
        {
            try
            {
                // The receiver may have restarted since: deliver to its current transport at that address.
                if (!_byAddress.TryGetValue(destination, out var current) || current.Node != to) return;
                if (_blocked.Contains((from.Id, to.Id)))
                {
                    Drop(from.Id, to.Id, length); // partitioned while in flight
                    return;
                }
                MessagesDelivered++;
                _simulation.Trace.Record(TraceKind.MessageDelivered, from.Id, to.Id, length);
                current.Deliver(sourceAddress, channel, copy.AsSpan(0, length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
        }, to);
        return true;
    }

    private long KeepLinkOrder(int from, int to, long at)
    {
        if (from >= _lastDelivery.Length) Array.Resize(ref _lastDelivery, Math.Max(from + 1, _lastDelivery.Length * 2));
        var row = _lastDelivery[from] ??= new long[Math.Max(to + 1, _simulation.Nodes.Count)];
        if (to >= row.Length)
        {
            Array.Resize(ref row, Math.Max(to + 1, row.Length * 2));
            _lastDelivery[from] = row;
        }
        if (at < row[to]) at = row[to];
        row[to] = at;
        return at;
    }

    private void Drop(int from, int to, int length)
    {
        MessagesDropped++;
        _simulation.Trace.Record(TraceKind.MessageDropped, from, to, length);
    }
}
