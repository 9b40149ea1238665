using Kv.Gossip.Transport;
using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Messaging;

/// <summary>The peer answered, but the body did not decode as the expected response (a version mismatch or a bug on one side).</summary>
public sealed class MalformedResponseException(NodeAddress peer, InternodeVerb verb, Exception inner)
    : InternodeException(peer, $"{verb} response from {peer} did not decode: {inner.Message}", inner)
{
    public InternodeVerb Verb { get; } = verb;
}
