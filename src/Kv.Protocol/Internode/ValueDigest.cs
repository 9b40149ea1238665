using System.Buffers.Binary;
using System.IO.Hashing;

namespace Kv.Protocol.Internode;

/// <summary>
/// The digest a replica returns for a digest-only read: two replicas agree exactly when they hold the
/// same newest version of the key.
/// <code>
/// digest := XxHash64(seed 0) of ( outcome: u8 | timestamp: i64 LE | expires-at: i64 LE | value )
/// </code>
/// Wire format: every node must compute it the same way, changing it breaks mixed-version clusters.
/// </summary>
public static class ValueDigest
{
    public static ulong Compute(ReadOutcome outcome, long timestamp, long expiresAt, ReadOnlySpan<byte> value)
    {
        if (outcome == ReadOutcome.Absent) return 0;
        Span<byte> head = stackalloc byte[17];
        head[0] = (byte)outcome;
        BinaryPrimitives.WriteInt64LittleEndian(head[1..], timestamp);
        BinaryPrimitives.WriteInt64LittleEndian(head[9..], expiresAt);
        var hash = new XxHash64();
        hash.Append(head);
        hash.Append(value);
        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>The digest of what a full <see cref="ReadResponse"/> carries, to compare it with digest responses.</summary>
    public static ulong Of(in ReadResponse full) => Compute(full.Outcome, full.Timestamp, full.ExpiresAt, full.Value.Span);
}
