using MessagePack;

namespace Kv.Protocol.Internode;

/// <summary>
/// Read one key on a replica. A coordinator asks one replica for the full value and the others only
/// for a digest (<see cref="DigestOnly"/>), and fetches full values only when the digests disagree.
/// <code>
/// ReadRequest := [ 0: storage key (bin) | 1: digest-only (bool) ]
/// </code>
/// </summary>
[MessagePackObject]
public readonly record struct ReadRequest(
    [property: Key(0)] ReadOnlyMemory<byte> StorageKey,
    [property: Key(1)] bool DigestOnly);
