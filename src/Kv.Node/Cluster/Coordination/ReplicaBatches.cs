using Kv.Gossip.Transport;
using Kv.Node.Resp.Net;

namespace Kv.Node.Cluster.Coordination;

/// <summary>Sends what <see cref="ReplicaBatches{TItem}"/> gathered for one replica.</summary>
internal interface IReplicaBatchSender<TItem>
{
    void SendBatch(NodeAddress replica, TItem[] items, CancellationToken cancellationToken);
}

/// <summary>
/// The replica requests (writes, or reads) a socket I/O thread's current event produced, gathered per (coordinator,
/// replica) and handed back to the coordinator when the event ends (<see cref="IoEvent"/>), which sends each group as
/// one batch request instead of one request per item. A client that pipelines 16 SETs makes each replica get two
/// messages (the first write alone, then the batch), apply two engine writes and send two answers, and the coordinator
/// keep two pending requests and timers per replica instead of 16 (docs/cluster.md, "Replica batches").
/// </summary>
/// <remarks>
/// The first request of an event for a replica is not held: it goes out at once, as it would without batching, and
/// only the ones after it wait for the end of the event. So a client without pipelining (one request per event) pays
/// no delay at all, and a pipeline of 16 costs each replica two messages instead of 16. A batch holds at most
/// <see cref="MaxHeldBytes"/> of keys and values: a request that would take it past that goes out alone, so a batch of
/// large values never grows past what one internode frame carries.
/// Threading: one instance per thread and item type (thread-static), used only on that thread. Sending happens at the
/// end of the event, before the thread waits again, so a request is delayed by at most the rest of its event's
/// handling; a request that must wait for earlier ones (a GET after pipelined SETs) waits asynchronously, which ends
/// the event and sends them.
/// </remarks>
internal sealed class ReplicaBatches<TItem> : IEndOfEventWork
{
    [ThreadStatic] private static ReplicaBatches<TItem>? t_current;

    private List<Group> _groups = [];
    private List<Group> _sending = [];
    private readonly Stack<Group> _spare = new();
    private bool _deferred;

    /// <summary>Bytes of keys and values one batch holds at most (the internode frame limit is 16 MiB).</summary>
    public const int MaxHeldBytes = 1024 * 1024;

    /// <summary>
    /// Whether a request of <paramref name="bytes"/> for <paramref name="replica"/> should be held (then pass it to
    /// <see cref="Hold"/>): an event is in progress on this thread, an earlier request of the event already went to
    /// this replica, and its batch has room. False means send it now; on the event's first request for the replica
    /// this opens the replica's batch for the ones after it.
    /// </summary>
    public static bool ShouldHold(IReplicaBatchSender<TItem> owner, NodeAddress replica, int bytes, CancellationToken cancellationToken)
    {
        if (!IoEvent.InProgress) return false;
        var batches = t_current ??= new ReplicaBatches<TItem>();
        if (!batches._deferred)
        {
            batches._deferred = true;
            IoEvent.Defer(batches);
        }
        if (batches.Find(owner, replica) is not { } group)
        {
            batches.Open(owner, replica, cancellationToken); // the first goes now; later ones join the group
            return false;
        }
        return group.Bytes + (long)bytes <= MaxHeldBytes;
    }

    /// <summary>Holds <paramref name="item"/> for the end of the event, right after <see cref="ShouldHold"/> said so.</summary>
    public static void Hold(IReplicaBatchSender<TItem> owner, NodeAddress replica, TItem item, int bytes, CancellationToken cancellationToken)
    {
        var group = t_current?.Find(owner, replica) ?? throw new InvalidOperationException("no batch is open for this replica: call ShouldHold first");
        group.Add(item, bytes, cancellationToken);
    }

    private Group? Find(IReplicaBatchSender<TItem> owner, NodeAddress replica)
    {
        foreach (var g in _groups)
        {
            if (ReferenceEquals(g.Owner, owner) && g.Replica == replica) return g;
        }
        return null;
    }

    private void Open(IReplicaBatchSender<TItem> owner, NodeAddress replica, CancellationToken cancellationToken)
    {
        var group = _spare.Count > 0 ? _spare.Pop() : new Group();
        group.Owner = owner;
        group.Replica = replica;
        group.Token = cancellationToken;
        _groups.Add(group);
    }

    public void Run()
    {
        // Swap the lists first: a send that fails at once completes its items inline, which can resume a connection
        // that sends again; those items start new groups and a new deferral, run later in the same round.
        _deferred = false;
        (_groups, _sending) = (_sending, _groups);
        foreach (var group in _sending)
        {
            var items = group.Items.Count == 0 ? null : group.Items.ToArray();
            var owner = group.Owner!;
            var replica = group.Replica;
            var token = group.MixedTokens ? CancellationToken.None : group.Token;
            group.Reset();
            _spare.Push(group);
            if (items is not null) owner.SendBatch(replica, items, token);
        }
        _sending.Clear();
    }

    private sealed class Group
    {
        public IReplicaBatchSender<TItem>? Owner;
        public NodeAddress Replica;
        public readonly List<TItem> Items = [];
        public long Bytes;
        public CancellationToken Token;
        public bool MixedTokens;

        public void Add(TItem item, int bytes, CancellationToken cancellationToken)
        {
            if (cancellationToken != Token) MixedTokens = true; // a batch can be cancelled only as a whole
            Items.Add(item);
            Bytes += bytes;
        }

        public void Reset()
        {
            Owner = null;
            Items.Clear();
            Bytes = 0;
            Token = default;
            MixedTokens = false;
        }
    }
}
