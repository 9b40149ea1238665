namespace Kv.Node.Cluster.Messaging;

/// <summary>Settings of a <see cref="MessagingService"/>.</summary>
public sealed class MessagingOptions
{
    /// <summary>Requests awaiting a response per peer; more fail at once with <see cref="PeerUnavailableException"/>.</summary>
    public int MaxOutstandingRequestsPerPeer { get; set; } = 4096;

    /// <summary>
    /// Whether code awaiting a response resumes on the thread pool (true, the default: a transport's receive
    /// thread never runs request continuations). False only for a single-threaded deterministic host such as
    /// the simulator: the awaiting code then runs inline on the thread that completed the request.
    /// </summary>
    public bool RunContinuationsAsynchronously { get; set; } = true;
}
