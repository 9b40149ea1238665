using Kv.Gossip.Membership;
using Kv.Gossip.Ring;
using Kv.Gossip.Transport;

namespace Kv.Node.Cluster.Coordination;

/// <summary>
/// The replica placement a coordinator may act on: the gossip ring's, but only once this node has learned the
/// ring. Until then it is empty, so requests fail as unavailable (<see cref="RingUnknownException"/>) instead of
/// running on a partial ring. Right after a restart a node's ring holds only its own tokens (the others' come
/// back by gossip), or only the members it has heard of so far: a QUORUM of the replicas such a ring yields can be
/// this node alone, or nodes that do not hold the key at all, so a write would be acknowledged where later QUORUM
/// reads do not look.
/// </summary>
/// <remarks>
/// Learned means: the ring holds every member saved in <see cref="IKnownPeers"/> (the ring as this node last saw
/// it, kept across restarts), and at least one member besides this node unless it has no one to learn from (no
/// seed but itself, and no saved members: a single node, or the first seed of a new cluster). While ready, the
/// saved members follow the ring (members joining, and members gossip has forgotten after they left).
/// A member removed from the cluster while this node was down is still saved: this node then waits for it until
/// an operator deletes the peers file (see docs/formats/peers.md).
/// Register it with the gossiper (after the <see cref="ClusterRing"/>) so the saved members follow the ring even
/// while no request asks for the placement.
/// Threading: thread-safe. Once ready it stays ready (a volatile flag); <see cref="Current"/> then costs a
/// reference comparison unless the ring changed, when the saved members are updated under a lock.
/// </remarks>
public sealed class LearnedRingPlacement : IEndpointStateListener
{
    private readonly Func<ReplicaPlacement> _ring;
    private readonly NodeAddress _local;
    private readonly IKnownPeers? _peers;
    private readonly ReplicaPlacement _empty;
    private readonly bool _hasSeeds;
    private readonly Lock _lock = new();
    private readonly HashSet<NodeAddress> _saved;
    private volatile bool _ready;
    private volatile ReplicaPlacement? _lastSaved;

    /// <param name="ring">The gossip ring's current placement.</param>
    /// <param name="local">This node's internode address.</param>
    /// <param name="seeds">The configured seeds; none but <paramref name="local"/> means there is no one to learn from.</param>
    /// <param name="peers">Where the members seen are kept across restarts (null: not kept; then only "one other member" is waited for).</param>
    public LearnedRingPlacement(Func<ReplicaPlacement> ring, NodeAddress local, IEnumerable<NodeAddress> seeds, IKnownPeers? peers = null)
    {
        _ring = ring;
        _local = local;
        _peers = peers;
        _empty = new ReplicaPlacement(TokenRing.Empty, ring().Strategy);
        foreach (var seed in seeds) _hasSeeds |= seed != local;
        _saved = [.. peers?.Load() ?? []];
        _saved.Remove(local);
    }

    /// <summary>Whether this node has learned the ring (or has no one to learn it from).</summary>
    public bool IsReady => _ready || CheckReady(_ring());

    /// <summary>The ring's placement once ready; an empty one (no tokens, so every request is unavailable) before.</summary>
    public ReplicaPlacement Current
    {
        get
        {
            var placement = _ring();
            if (!_ready && !CheckReady(placement)) return _empty;
            if (_peers is not null && !ReferenceEquals(placement, _lastSaved)) SaveMembers(placement);
            return placement;
        }
    }

    void IEndpointStateListener.OnJoin(NodeAddress endpoint, EndpointState state) => Refresh();

    void IEndpointStateListener.OnChange(NodeAddress endpoint, ApplicationState key, VersionedValue value)
    {
        if (key is ApplicationState.Status or ApplicationState.Tokens) Refresh();
    }

    void IEndpointStateListener.OnRemove(NodeAddress endpoint) => Refresh();

    private void Refresh() => _ = Current;

    private bool CheckReady(ReplicaPlacement placement)
    {
        var ring = placement.Ring;
        lock (_lock)
        {
            if (_ready) return true;
            foreach (var peer in _saved)
                if (!ring.Contains(peer)) return false;
            var other = false;
            for (var i = 0; i < ring.EndpointCount && !other; i++) other = ring.Endpoint(i) != _local;
            if (!other && (_hasSeeds || _saved.Count > 0)) return false;
            _ready = true;
            return true;
        }
    }

    private void SaveMembers(ReplicaPlacement placement)
    {
        var ring = placement.Ring;
        lock (_lock)
        {
            if (ReferenceEquals(placement, _lastSaved)) return;
            var same = ring.Contains(_local) ? ring.EndpointCount - 1 == _saved.Count : ring.EndpointCount == _saved.Count;
            for (var i = 0; i < ring.EndpointCount && same; i++) same = ring.Endpoint(i) == _local || _saved.Contains(ring.Endpoint(i));
            if (!same)
            {
                _saved.Clear();
                for (var i = 0; i < ring.EndpointCount; i++)
                    if (ring.Endpoint(i) != _local) _saved.Add(ring.Endpoint(i));
                _peers!.Save(_saved);
            }
            _lastSaved = placement;
        }
    }
}
