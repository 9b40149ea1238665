using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Kv.Engine.Format;

/// <summary>What a version of a key is. wire format: the byte values are stored in every file.</summary>
public enum EntryKind : byte
{
    /// <summary>A delete marker. Sorts before a value of the same timestamp, so it wins the tie.</summary>
    Tombstone = 0,
    Value = 1,
}

/// <summary>
/// The engine's internal key: a user key plus the version it names. Memtables and SSTables are
/// sorted by it, so the newest version (highest timestamp) of a key is met first.
/// <code>
/// // internal key := user_key | inverted_ts: u64 big-endian (= ~timestamp) | kind: u8
/// </code>
/// Order: user keys bytewise ascending; then timestamp descending; then kind ascending
/// (Tombstone before Value). Two versions with the same key, timestamp and kind are a tie that
/// the reader breaks by comparing value bytes (the greater wins), so every replica that holds
/// both keeps the same one. wire format: changing this breaks existing data.
/// </summary>
public static class InternalKey
{
    /// <summary>Bytes after the user key.</summary>
    public const int TrailerSize = 9;

    public static int EncodedLength(int userKeyLength) => userKeyLength + TrailerSize;

    /// <summary>Writes user key and trailer into <paramref name="destination"/>; returns bytes written.</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> userKey, long timestamp, EntryKind kind)
    {
        userKey.CopyTo(destination);
        var trailer = destination.Slice(userKey.Length, TrailerSize);
        BinaryPrimitives.WriteUInt64BigEndian(trailer, ~(ulong)timestamp);
        trailer[8] = (byte)kind;
        return userKey.Length + TrailerSize;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> UserKey(ReadOnlySpan<byte> internalKey) => internalKey[..^TrailerSize];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Timestamp(ReadOnlySpan<byte> internalKey) =>
        (long)~BinaryPrimitives.ReadUInt64BigEndian(internalKey.Slice(internalKey.Length - TrailerSize, 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static EntryKind Kind(ReadOnlySpan<byte> internalKey) => (EntryKind)internalKey[^1];

    /// <summary>Total order of internal keys (see the type's remarks).</summary>
    public static int Compare(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var c = UserKey(a).SequenceCompareTo(UserKey(b));
        if (c != 0) return c;
        // inverted big-endian timestamp then kind: plain bytewise order of the trailers
        return a[^TrailerSize..].SequenceCompareTo(b[^TrailerSize..]);
    }

    /// <summary>The smallest internal key of <paramref name="userKey"/>: seeking to it lands on its newest version.</summary>
    public static int WriteSeekKey(Span<byte> destination, ReadOnlySpan<byte> userKey) =>
        Write(destination, userKey, long.MaxValue, EntryKind.Tombstone);

    /// <summary>True if <paramref name="candidate"/> beats <paramref name="incumbent"/> as the version of one key:
    /// higher timestamp, then tombstone over value, then greater value bytes.</summary>
    public static bool Supersedes(long candidateTs, EntryKind candidateKind, ReadOnlySpan<byte> candidateValue,
                                  long incumbentTs, EntryKind incumbentKind, ReadOnlySpan<byte> incumbentValue)
    {
        if (candidateTs != incumbentTs) return candidateTs > incumbentTs;
        if (candidateKind != incumbentKind) return candidateKind == EntryKind.Tombstone;
        return candidateValue.SequenceCompareTo(incumbentValue) > 0;
    }
}
