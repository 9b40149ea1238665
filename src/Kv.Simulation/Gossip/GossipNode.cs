using Kv.Gossip.FailureDetection;
using Kv.Gossip.Membership;

namespace Kv.Simulation.Gossip;

/// <summary>The software of one node of a <see cref="SimulatedGossipCluster"/>: its gossiper, detector and transport.</summary>
public sealed class GossipNode(SimulatedNode node, SimulatedTransport transport, Gossiper gossiper, PhiAccrualFailureDetector failureDetector)
{
    public SimulatedNode Node { get; } = node;

    public SimulatedTransport Transport { get; } = transport;

    public Gossiper Gossiper { get; } = gossiper;

    public PhiAccrualFailureDetector FailureDetector { get; } = failureDetector;
}
