using Kv.Gossip.Transport;

namespace Kv.Node.Cluster.Messaging;

/// <summary>A request to another node did not produce its response. <see cref="Peer"/> says which node.</summary>
public abstract class InternodeException(NodeAddress peer, string message, Exception? inner = null) : Exception(message, inner)
{
    public NodeAddress Peer { get; } = peer;
}
