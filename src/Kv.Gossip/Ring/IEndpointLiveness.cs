using Kv.Gossip.Transport;

namespace Kv.Gossip.Ring;

/// <summary>Answers "is this endpoint up right now?" (the gossiper's failure-detector view). Thread-safe, allocation-free.</summary>
public interface IEndpointLiveness
{
    bool IsAlive(NodeAddress endpoint);
}
