using Kv.Gossip.Membership;
using Kv.Gossip.Transport;

namespace Kv.Gossip.Ring;

/// <summary>
/// The ring as gossip describes it, kept current: members are the endpoints whose STATUS is NORMAL or
/// LEAVING (they own their tokens) and whose TOKENS parse; DC and RACK default to "dc1"/"rack1".
/// </summary>
/// <remarks>
/// Threading: readers call <see cref="Current"/> from any thread without locking in the steady state: it
/// returns an immutable <see cref="ReplicaPlacement"/> (ring + replicas). Membership events only mark the
/// view stale (an interlocked counter); the next reader rebuilds it once under <c>_rebuildLock</c> and
/// publishes the new snapshot with a volatile write, so a burst of gossip changes costs one rebuild.
/// </remarks>
public sealed class ClusterRing : IEndpointStateListener
{
    public const string DefaultDatacenter = "dc1";
    public const string DefaultRack = "rack1";

    private readonly Gossiper _gossiper;
    private readonly IReplicationStrategy _strategy;
    private readonly Lock _rebuildLock = new();
    private volatile Snapshot _snapshot;
    private long _changes;

    public ClusterRing(Gossiper gossiper, IReplicationStrategy strategy)
    {
        _gossiper = gossiper;
        _strategy = strategy;
        _snapshot = new Snapshot(-1, new ReplicaPlacement(TokenRing.Empty, strategy));
        gossiper.Register(this);
    }

    public IReplicationStrategy Strategy => _strategy;

    /// <summary>The current ring and replica placement. Allocation-free unless membership changed since the last call.</summary>
    public ReplicaPlacement Current
    {
        get
        {
            var s = _snapshot;
            var changes = Interlocked.Read(ref _changes);
            if (s.Changes == changes) return s.Placement;
            lock (_rebuildLock)
            {
                s = _snapshot;
                changes = Interlocked.Read(ref _changes);
                if (s.Changes == changes) return s.Placement;
                var placement = new ReplicaPlacement(Build(_gossiper.GetEndpointStates()), _strategy);
                _snapshot = new Snapshot(changes, placement);
                return placement;
            }
        }
    }

    /// <summary>Ring members from gossip states: NORMAL or LEAVING with parseable tokens.</summary>
    public static TokenRing Build(IReadOnlyList<KeyValuePair<NodeAddress, EndpointState>> states)
    {
        var members = new List<RingMember>(states.Count);
        var claimed = new HashSet<ulong>();
        var ordered = new List<KeyValuePair<NodeAddress, EndpointState>>(states);
        ordered.Sort(static (a, b) => a.Value.Generation != b.Value.Generation
            ? b.Value.Generation.CompareTo(a.Value.Generation)
            : TokenRing.CompareAddress(a.Key, b.Key));
        foreach (var (endpoint, state) in ordered)
        {
            if (state.Status is not (NodeStatus.Normal or NodeStatus.Leaving)) continue;
            if (!TokenList.TryParse(state.Get(ApplicationState.Tokens), out var tokens)) continue;
            // Two nodes claiming a token (an operator error, or a replaced node still gossiping) must not stop
            // the ring from being built: the endpoint with the larger generation wins the token.
            var free = new List<ulong>(tokens.Length);
            foreach (var t in tokens) if (claimed.Add(t)) free.Add(t);
            if (free.Count == 0) continue;
            members.Add(new RingMember(endpoint, state.Get(ApplicationState.Datacenter) ?? DefaultDatacenter,
                state.Get(ApplicationState.Rack) ?? DefaultRack, free));
        }
        return TokenRing.Create(members);
    }

    private void Invalidate() => Interlocked.Increment(ref _changes);

    void IEndpointStateListener.OnJoin(NodeAddress endpoint, EndpointState state) => Invalidate();

    void IEndpointStateListener.OnChange(NodeAddress endpoint, ApplicationState key, VersionedValue value)
    {
        if (key is ApplicationState.Status or ApplicationState.Tokens or ApplicationState.Datacenter or ApplicationState.Rack) Invalidate();
    }

    void IEndpointStateListener.OnRestart(NodeAddress endpoint, EndpointState state) => Invalidate();

    void IEndpointStateListener.OnRemove(NodeAddress endpoint) => Invalidate();

    private sealed record Snapshot(long Changes, ReplicaPlacement Placement);
}
