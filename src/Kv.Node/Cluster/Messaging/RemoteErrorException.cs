using Kv.Gossip.Transport;
using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Messaging;

/// <summary>The peer received the request and answered with an error instead of a result.</summary>
public sealed class RemoteErrorException(NodeAddress peer, InternodeVerb verb, InternodeErrorCode code, string remoteMessage)
    : InternodeException(peer, $"{verb} request to {peer} failed there ({code}): {remoteMessage}")
{
    public InternodeVerb Verb { get; } = verb;
    public InternodeErrorCode Code { get; } = code;
    public string RemoteMessage { get; } = remoteMessage;
}
