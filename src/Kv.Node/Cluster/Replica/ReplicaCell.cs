using Kv.Protocol.Internode;

namespace Kv.Node.Cluster.Replica;

/// <summary>
/// The newest version of one key that a replica holds: a value, a tombstone, or nothing.
/// <see cref="Value"/> is owned by the holder of the cell (stores hand out copies).
/// </summary>
public readonly record struct ReplicaCell(ReadOutcome Outcome, long Timestamp, long ExpiresAt, ReadOnlyMemory<byte> Value)
{
    public static ReplicaCell Absent => new(ReadOutcome.Absent, 0, 0, ReadOnlyMemory<byte>.Empty);

    /// <summary>Whether a client sees a live value at <paramref name="nowUnixMs"/> (found and not expired).</summary>
    public bool IsLive(long nowUnixMs) => Outcome == ReadOutcome.Found && (ExpiresAt == 0 || ExpiresAt > nowUnixMs);

    public ulong Digest => ValueDigest.Compute(Outcome, Timestamp, ExpiresAt, Value.Span);

    public ReadResponse ToResponse(bool digestOnly) => digestOnly
        ? new ReadResponse(Outcome, Timestamp, ExpiresAt, ReadOnlyMemory<byte>.Empty, Digest)
        : new ReadResponse(Outcome, Timestamp, ExpiresAt, Value, 0);

    public static ReplicaCell FromResponse(in ReadResponse response) => new(response.Outcome, response.Timestamp, response.ExpiresAt, response.Value);

    /// <summary>
    /// Last-write-wins: whether <paramref name="a"/> supersedes <paramref name="b"/>. Highest timestamp wins;
    /// at equal timestamps a tombstone wins over a value, then the larger value bytes, so that every node
    /// picks the same winner whatever order versions arrive in.
    /// </summary>
    public static bool Supersedes(in ReplicaCell a, in ReplicaCell b)
    {
        if (b.Outcome == ReadOutcome.Absent) return a.Outcome != ReadOutcome.Absent;
        if (a.Outcome == ReadOutcome.Absent) return false;
        if (a.Timestamp != b.Timestamp) return a.Timestamp > b.Timestamp;
        if (a.Outcome != b.Outcome) return a.Outcome == ReadOutcome.Deleted;
        var c = a.Value.Span.SequenceCompareTo(b.Value.Span);
        if (c != 0) return c > 0;
        return a.ExpiresAt > b.ExpiresAt;
    }

    public MutationRequest ToMutation(ReadOnlyMemory<byte> storageKey) => new(storageKey,
        Outcome == ReadOutcome.Found ? Value : ReadOnlyMemory<byte>.Empty, Timestamp, ExpiresAt,
        Outcome == ReadOutcome.Found ? MutationKind.Value : MutationKind.Tombstone);
}
