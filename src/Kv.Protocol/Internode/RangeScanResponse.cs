using MessagePack;

namespace Kv.Protocol.Internode;

/// <summary>
/// A page of a <see cref="RangeScanRequest"/>: at most its limit of rows, in key order, and where the
/// next page starts.
/// <code>
/// RangeScanResponse := [ 0: rows (array of ScanRow) | 1: next start key (bin; empty = the range is exhausted) ]
/// </code>
/// </summary>
[MessagePackObject]
public readonly record struct RangeScanResponse(
    [property: Key(0)] ScanRow[] Rows,
    [property: Key(1)] ReadOnlyMemory<byte> NextStartKey)
{
    [IgnoreMember]
    public bool IsComplete => NextStartKey.IsEmpty;
}
