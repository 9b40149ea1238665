namespace Kv.Gossip.Membership;

/// <summary>A gossip message that does not follow docs/formats/gossip.md (truncated, bad varint, unknown type or version).</summary>
public sealed class GossipFormatException(string message) : Exception(message);
