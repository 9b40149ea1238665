using Kv.Gossip.Transport;

namespace Kv.Node.Cluster.Coordination;

/// <summary>
/// The ring members this node has seen, kept across restarts, so that a restarted node knows how much of the
/// ring it must learn again before it coordinates (see <see cref="LearnedRingPlacement"/>).
/// </summary>
public interface IKnownPeers
{
    /// <summary>The members saved last (empty when none were saved).</summary>
    IReadOnlyCollection<NodeAddress> Load();

    /// <summary>Replaces the saved members; durable when it returns.</summary>
    void Save(IReadOnlyCollection<NodeAddress> peers);
}
