using Kv.Gossip.Membership;
using Kv.Gossip.Ring;
using Kv.Node.Cluster.Coordination;
using Kv.Node.Cluster.Hints;
using Kv.Node.Cluster.Messaging;
using Kv.Node.Cluster.Replica;
using Kv.Node.Time;

namespace Kv.Simulation.Cluster;

/// <summary>
/// The software of one incarnation of a <see cref="SimulatedKvCluster"/> node: the real gossiper, ring,
/// internode messaging, replica verbs, hinted handoff and coordinator of Kv.Node, wired as a real node wires
/// them, over the simulated transport and clock. A restart builds a new one over the same durable state.
/// </summary>
/// <remarks>Threading: simulation thread only (everything here runs inline on it).</remarks>
public sealed class KvNode
{
    internal KvNode(int id, int incarnation, Gossiper gossiper, ClusterRing ring, MessagingService messaging, Coordinator coordinator,
        HintedHandoff handoff, InMemoryReplicaStore store, HybridLogicalClock clock)
    {
        Id = id;
        Incarnation = incarnation;
        Gossiper = gossiper;
        Ring = ring;
        Messaging = messaging;
        Coordinator = coordinator;
        HintedHandoff = handoff;
        Store = store;
        Clock = clock;
    }

    public int Id { get; }

    public int Incarnation { get; }

    public Gossiper Gossiper { get; }

    public ClusterRing Ring { get; }

    public MessagingService Messaging { get; }

    public Coordinator Coordinator { get; }

    public HintedHandoff HintedHandoff { get; }

    /// <summary>The replica data: durable (it outlives the incarnation), since a replica acknowledges only durable writes.</summary>
    public InMemoryReplicaStore Store { get; }

    public HybridLogicalClock Clock { get; }

    /// <summary>Bytes of hints this node still holds for any target.</summary>
    public long PendingHintBytes()
    {
        long total = 0;
        foreach (var target in HintedHandoff.Store.Targets()) total += HintedHandoff.Store.PendingBytes(target);
        return total;
    }
}
