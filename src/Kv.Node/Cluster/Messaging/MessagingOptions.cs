namespace Kv.Node.Cluster.Messaging;

/// <summary>Settings of a <see cref="MessagingService"/>.</summary>
public sealed class MessagingOptions
{
    /// <summary>Requests awaiting a response per peer; more fail at once with <see cref="PeerUnavailableException"/>.</summary>
    public int MaxOutstandingRequestsPerPeer { get; set; } = 4096;

    /// <summary>
    /// Whether code awaiting a response resumes on the thread pool (true, the default: a transport's receive
    /// thread never runs request continuations). False: the awaiting code runs inline on the thread that
    /// completed the request, which a single-threaded deterministic host (the simulator) needs, and which saves a
    /// thread-pool hop per response when every awaiting caller's follow-up is short and non-blocking (a kv-node's
    /// coordinator: ClusterNode sets it).
    /// </summary>
    public bool RunContinuationsAsynchronously { get; set; } = true;
}
