using Kv.Gossip.Transport;
using Kv.Node.Resp.Net;

namespace Kv.Node.Cluster.Coordination;

/// <summary>
/// The replica writes a socket I/O thread's current event produced, gathered per (coordinator, replica) and sent when
/// the event ends (<see cref="IoEvent"/>): one <see cref="Kv.Protocol.Internode.InternodeVerb.MutationBatch"/> request
/// per replica instead of one request per write. A client that pipelines 16 SETs makes each replica get one message,
/// apply one engine write and send one answer, and the coordinator keep one pending request and one timer per replica
/// instead of 16 (docs/cluster.md, "Replica write batches").
/// </summary>
/// <remarks>
/// Threading: one instance per thread (thread-static), used only on that thread. Sending happens at the end of the
/// event, before the thread waits again, so a write is delayed by at most the rest of its event's handling; a request
/// that must wait for earlier writes (a GET after pipelined SETs) waits asynchronously, which ends the event and sends
/// them. A group with a single write goes out as an ordinary Mutation request.
/// </remarks>
internal sealed class ReplicaWriteBatches : IEndOfEventWork
{
    [ThreadStatic] private static ReplicaWriteBatches? t_current;

    private List<Group> _groups = [];
    private List<Group> _sending = [];
    private readonly Stack<Group> _spare = new();
    private bool _deferred;

    /// <summary>Holds <paramref name="write"/> for the end of this thread's current event; false when no event is in
    /// progress here (the caller sends it now).</summary>
    public static bool TryAdd(Coordinator owner, Coordinator.ReplicaWrite write, CancellationToken cancellationToken)
    {
        if (!IoEvent.InProgress) return false;
        var batches = t_current ??= new ReplicaWriteBatches();
        batches.GroupFor(owner, write.Replica, cancellationToken).Add(write, cancellationToken);
        if (!batches._deferred)
        {
            batches._deferred = true;
            IoEvent.Defer(batches);
        }
        return true;
    }

    private Group GroupFor(Coordinator owner, NodeAddress replica, CancellationToken cancellationToken)
    {
        foreach (var g in _groups)
        {
            if (ReferenceEquals(g.Owner, owner) && g.Replica == replica) return g;
        }
        var group = _spare.Count > 0 ? _spare.Pop() : new Group();
        group.Owner = owner;
        group.Replica = replica;
        group.Token = cancellationToken;
        _groups.Add(group);
        return group;
    }

    public void Run()
    {
        // Swap the lists first: a send that fails at once completes its writes inline, which can resume a connection
        // that writes again; those writes start new groups and a new deferral, run later in the same round.
        _deferred = false;
        (_groups, _sending) = (_sending, _groups);
        foreach (var group in _sending)
        {
            var writes = group.Writes.ToArray();
            var owner = group.Owner!;
            var replica = group.Replica;
            var token = group.MixedTokens ? CancellationToken.None : group.Token;
            group.Reset();
            _spare.Push(group);
            owner.SendReplicaWrites(replica, writes, token);
        }
        _sending.Clear();
    }

    private sealed class Group
    {
        public Coordinator? Owner;
        public NodeAddress Replica;
        public readonly List<Coordinator.ReplicaWrite> Writes = [];
        public CancellationToken Token;
        public bool MixedTokens;

        public void Add(Coordinator.ReplicaWrite write, CancellationToken cancellationToken)
        {
            if (cancellationToken != Token) MixedTokens = true; // a batch can be cancelled only as a whole
            Writes.Add(write);
        }

        public void Reset()
        {
            Owner = null;
            Writes.Clear();
            Token = default;
            MixedTokens = false;
        }
    }
}
