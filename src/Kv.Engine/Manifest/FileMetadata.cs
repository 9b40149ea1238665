using Kv.Engine.Format;

namespace Kv.Engine.Manifest;

/// <summary>
/// What the manifest records about one live SSTable: its number, size, key range (internal keys, see
/// <see cref="InternalKey"/>) and timestamp range. Immutable by convention: the key arrays are never modified.
/// Equality compares the key bytes, not the array references.
/// </summary>
public sealed record FileMetadata(ulong Number, long Size, byte[] Smallest, byte[] Largest, long MinTs, long MaxTs)
{
    public bool Equals(FileMetadata? other) =>
        other is not null && Number == other.Number && Size == other.Size && MinTs == other.MinTs && MaxTs == other.MaxTs &&
        Smallest.AsSpan().SequenceEqual(other.Smallest) && Largest.AsSpan().SequenceEqual(other.Largest);

    public override int GetHashCode() => HashCode.Combine(Number, Size, MinTs, MaxTs);

    /// <summary>The user key of <see cref="Smallest"/> (the whole key if it is too short to be an internal key).</summary>
    public ReadOnlySpan<byte> SmallestUserKey => UserKeyOf(Smallest);

    /// <summary>The user key of <see cref="Largest"/>.</summary>
    public ReadOnlySpan<byte> LargestUserKey => UserKeyOf(Largest);

    /// <summary>Orders internal keys (<see cref="InternalKey.Compare"/>); bytewise if either is too short to be one.</summary>
    internal static int CompareKeys(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
        a.Length >= InternalKey.TrailerSize && b.Length >= InternalKey.TrailerSize
            ? InternalKey.Compare(a, b)
            : a.SequenceCompareTo(b);

    private static ReadOnlySpan<byte> UserKeyOf(byte[] key) =>
        key.Length >= InternalKey.TrailerSize ? InternalKey.UserKey(key) : key;
}
