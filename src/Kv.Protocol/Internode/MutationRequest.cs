using MessagePack;

namespace Kv.Protocol.Internode;

/// <summary>
/// Apply one write to a replica (verbs <see cref="InternodeVerb.Mutation"/> and
/// <see cref="InternodeVerb.HintReplay"/>). Replicas resolve by <see cref="Timestamp"/>, so applying
/// the same mutation twice, or an older one after a newer one, is harmless.
/// <code>
/// MutationRequest := [ 0: storage key (bin) | 1: value (bin, empty for a tombstone)
///                    | 2: timestamp (int64, HLC) | 3: expires-at (int64, unix ms, 0 = never) | 4: kind (uint8) ]
/// </code>
/// </summary>
[MessagePackObject]
public readonly record struct MutationRequest(
    [property: Key(0)] ReadOnlyMemory<byte> StorageKey,
    [property: Key(1)] ReadOnlyMemory<byte> Value,
    [property: Key(2)] long Timestamp,
    [property: Key(3)] long ExpiresAt,
    [property: Key(4)] MutationKind Kind);
