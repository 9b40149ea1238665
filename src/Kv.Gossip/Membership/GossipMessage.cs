namespace Kv.Gossip.Membership;

/// <summary>
/// The gossip messages, carried on <see cref="Transport.MessageChannel.Gossip"/>. Layout (docs/formats/gossip.md):
/// <code>
/// message  := formatVersion: u8 (= 1) | type: u8 | body
/// SYN      (type 1) := clusterName: string | count: varint | digest*count
/// ACK      (type 2) := count: varint | digest*count (requests) | count: varint | endpointDelta*count
/// ACK2     (type 3) := count: varint | endpointDelta*count
/// SHUTDOWN (type 4) := generation: varint          (the sender is stopping gracefully)
/// </code>
/// wire format: changing any of this breaks mixed-version clusters; bump <see cref="FormatVersion"/>.
/// </summary>
public enum GossipMessageType : byte
{
    Syn = 1,
    Ack = 2,
    Ack2 = 3,
    Shutdown = 4,
}

/// <summary>Constants of the gossip wire format.</summary>
public static class GossipMessage
{
    /// <summary>wire format: first byte of every gossip message.</summary>
    public const byte FormatVersion = 1;
}
