using Kv.Gossip.Transport;

namespace Kv.Gossip.Ring;

/// <summary>One node as the ring sees it: where it is (datacenter, rack) and the tokens it owns.</summary>
public sealed record RingMember(NodeAddress Endpoint, string Datacenter, string Rack, IReadOnlyList<ulong> Tokens);
