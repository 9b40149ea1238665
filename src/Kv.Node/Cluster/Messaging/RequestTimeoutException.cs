using Kv.Gossip.Transport;
using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Messaging;

/// <summary>The peer did not answer within the timeout (it may be down, slow, partitioned, or the request or answer was lost).</summary>
public sealed class RequestTimeoutException(NodeAddress peer, InternodeVerb verb, TimeSpan timeout)
    : InternodeException(peer, $"{verb} request to {peer} timed out after {timeout.TotalMilliseconds:0.###} ms")
{
    public InternodeVerb Verb { get; } = verb;
    public TimeSpan Timeout { get; } = timeout;
}
