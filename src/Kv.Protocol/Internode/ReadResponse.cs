using MessagePack;

namespace Kv.Protocol.Internode;

/// <summary>
/// A replica's answer to a <see cref="ReadRequest"/>: the newest version it holds, as the full value
/// or, for a digest-only read, as <see cref="Digest"/> (see <see cref="ValueDigest"/>).
/// <code>
/// ReadResponse := [ 0: outcome (uint8) | 1: timestamp (int64) | 2: expires-at (int64)
///                 | 3: value (bin; empty for digest reads, tombstones and absent keys) | 4: digest (uint64; 0 for full reads) ]
/// </code>
/// </summary>
[MessagePackObject]
public readonly record struct ReadResponse(
    [property: Key(0)] ReadOutcome Outcome,
    [property: Key(1)] long Timestamp,
    [property: Key(2)] long ExpiresAt,
    [property: Key(3)] ReadOnlyMemory<byte> Value,
    [property: Key(4)] ulong Digest)
{
    public static ReadResponse Absent => new(ReadOutcome.Absent, 0, 0, ReadOnlyMemory<byte>.Empty, 0);
}
