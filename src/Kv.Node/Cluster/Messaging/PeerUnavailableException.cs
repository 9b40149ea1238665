using Kv.Gossip.Transport;

namespace Kv.Node.Cluster.Messaging;

/// <summary>The request was not sent at all: the peer's queue is full, too many requests to it are outstanding, or messaging is shut down.</summary>
public sealed class PeerUnavailableException(NodeAddress peer, string reason)
    : InternodeException(peer, $"cannot send to {peer}: {reason}")
{
    public string Reason { get; } = reason;
}
