namespace Kv.Node.Cluster.Messaging;

/// <summary>Settings of a <see cref="MessagingService"/>.</summary>
public sealed class MessagingOptions
{
    /// <summary>Requests awaiting a response per peer; more fail at once with <see cref="PeerUnavailableException"/>.</summary>
    public int MaxOutstandingRequestsPerPeer { get; set; } = 4096;
}
