using Kv.Gossip.Transport;
using Kv.Node.Cluster.Coordination;

namespace Kv.Simulation.Cluster;

/// <summary>
/// The saved ring members of a simulated node: kept in <see cref="SimulatedNode.Items"/>, so they survive crashes as
/// the fsynced file of <see cref="FileKnownPeers"/> does.
/// </summary>
/// <remarks>Threading: simulation thread only.</remarks>
public sealed class SimulatedKnownPeers : IKnownPeers
{
    private NodeAddress[] _peers = [];

    public IReadOnlyCollection<NodeAddress> Load() => _peers;

    public void Save(IReadOnlyCollection<NodeAddress> peers) => _peers = [.. peers];
}
