using Kv.Gossip.Ring;
using Kv.Gossip.Transport;

namespace Kv.Node.Cluster.Coordination;

/// <summary>
/// The replica placement a coordinator may act on: the gossip ring's, but only once this node has learned the
/// ring from another member. Until then it is empty, so requests fail as unavailable instead of running on a
/// ring that holds only this node's own tokens. That is what a node has right after a restart (its tokens are
/// saved; the others' are not): a QUORUM of the single "replica" it would compute is itself, so a write would
/// be acknowledged on one node that may not even be a replica of the key, and later QUORUM reads would miss it.
/// </summary>
/// <remarks>
/// Learned means: the ring holds an endpoint other than this node. One gossip exchange with any member carries
/// the states of every endpoint that member knows, so the first other endpoint arrives together with the rest.
/// A node with no seed but itself (a single node, or the first seed of a new cluster) is ready at once.
/// Threading: thread-safe; once ready it stays ready (a volatile flag), and <see cref="Current"/> is then as
/// cheap as <see cref="ClusterRing.Current"/>.
/// </remarks>
public sealed class LearnedRingPlacement
{
    private readonly Func<ReplicaPlacement> _ring;
    private readonly NodeAddress _local;
    private readonly ReplicaPlacement _empty;
    private volatile bool _ready;

    /// <param name="ring">The gossip ring's current placement.</param>
    /// <param name="local">This node's internode address.</param>
    /// <param name="seeds">The configured seeds; none but <paramref name="local"/> means there is no one to learn from.</param>
    public LearnedRingPlacement(Func<ReplicaPlacement> ring, NodeAddress local, IEnumerable<NodeAddress> seeds)
    {
        _ring = ring;
        _local = local;
        _empty = new ReplicaPlacement(TokenRing.Empty, ring().Strategy);
        var others = false;
        foreach (var seed in seeds) others |= seed != local;
        _ready = !others;
    }

    /// <summary>Whether this node has learned the ring (or has no one to learn it from).</summary>
    public bool IsReady
    {
        get
        {
            if (_ready) return true;
            var ring = _ring().Ring;
            for (var i = 0; i < ring.EndpointCount; i++)
            {
                if (ring.Endpoint(i) != _local)
                {
                    _ready = true;
                    return true;
                }
            }
            return false;
        }
    }

    /// <summary>The ring's placement once ready; an empty one (no tokens, so every request is unavailable) before.</summary>
    public ReplicaPlacement Current => IsReady ? _ring() : _empty;
}
