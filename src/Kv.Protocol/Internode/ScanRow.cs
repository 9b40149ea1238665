using MessagePack;

namespace Kv.Protocol.Internode;

/// <summary>
/// One key's newest version in a <see cref="RangeScanResponse"/>.
/// <code>
/// ScanRow := [ 0: storage key (bin) | 1: kind (uint8) | 2: timestamp (int64) | 3: expires-at (int64) | 4: value (bin) ]
/// </code>
/// </summary>
[MessagePackObject]
public readonly record struct ScanRow(
    [property: Key(0)] ReadOnlyMemory<byte> StorageKey,
    [property: Key(1)] MutationKind Kind,
    [property: Key(2)] long Timestamp,
    [property: Key(3)] long ExpiresAt,
    [property: Key(4)] ReadOnlyMemory<byte> Value);
