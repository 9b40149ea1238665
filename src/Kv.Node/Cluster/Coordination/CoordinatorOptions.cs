namespace Kv.Node.Cluster.Coordination;

/// <summary>Settings of a <see cref="Coordinator"/>. Plain values, read at construction.</summary>
public sealed class CoordinatorOptions
{
    /// <summary>How long a write waits for replica acknowledgements.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a read waits for replica answers (per round: data/digests, then full values, then repair).</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Store hints for replicas that are down or time out (hinted handoff). On by default.</summary>
    public bool HintedHandoff { get; set; } = true;

    /// <summary>
    /// Sloppy quorum (Dynamo): a write for a replica that is down goes to the next live node clockwise that is not a
    /// replica, which keeps it as a durable hint and counts toward ONE/TWO/QUORUM (never ALL). Writes stay available
    /// with most replicas down; a read at the same level may miss them until the hints are delivered. Off by default
    /// (strict quorum: hints count only toward ANY).
    /// </summary>
    public bool SloppyQuorum { get; set; }

    /// <summary>
    /// Whether a write waiting for its acknowledgements resumes on the thread pool (true, the default). False: it
    /// resumes inline on the thread that delivered the deciding acknowledgement (a response's receive loop, or the
    /// local WAL's group leader), which the simulator needs and which a kv-node uses to save a thread-pool hop per
    /// write (about 10% less node CPU per QUORUM SET without pipelining, docs/cluster.md).
    /// </summary>
    public bool RunContinuationsAsynchronously { get; set; } = true;

    /// <summary>
    /// On a socket I/O thread, hold each replica write and read until the end of the event being handled and send the
    /// event's writes, and its reads, to each replica as one batch (<see cref="ReplicaBatches{TItem}"/>). Elsewhere (the
    /// thread pool, the simulator) requests go out one by one whatever this says. Default true.
    /// </summary>
    public bool BatchReplicaRequests { get; set; } = true;
}
