using MessagePack;

namespace Kv.Protocol.Internode;

/// <summary>
/// One page of a replica's storage keys in [<see cref="StartKey"/>, <see cref="EndKey"/>), in key
/// (= token) order; the coordinator walks the cluster's keyspace for SCAN with these.
/// <code>
/// RangeScanRequest := [ 0: start key, inclusive (bin) | 1: end key, exclusive (bin; empty = no bound)
///                     | 2: page limit (int32, rows) | 3: include tombstones (bool) ]
/// </code>
/// </summary>
[MessagePackObject]
public readonly record struct RangeScanRequest(
    [property: Key(0)] ReadOnlyMemory<byte> StartKey,
    [property: Key(1)] ReadOnlyMemory<byte> EndKey,
    [property: Key(2)] int Limit,
    [property: Key(3)] bool IncludeTombstones);
