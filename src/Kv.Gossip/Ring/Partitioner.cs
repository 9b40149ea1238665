using System.Buffers.Binary;
using System.IO.Hashing;

namespace Kv.Gossip.Ring;

/// <summary>
/// Maps a key to its token: its position on the ring, an unsigned 64-bit number. Every node and
/// client must compute the same token for the same key, forever.
/// </summary>
/// <remarks>
/// The token hashes the key's partition: the whole key, or, when the key contains a hash tag
/// (Redis convention: the bytes between the first '{' and the first '}' after it, if that span is
/// non-empty), only the tag, so that <c>{user:1}:name</c> and <c>{user:1}:email</c> live together.
/// Hash: XxHash64 with seed 0. wire format: changing the hash or the tag rule moves every key.
/// Nodes store a key as <c>[token: u64 big-endian][key]</c> so byte order is token order.
/// </remarks>
public static class Partitioner
{
    public const int TokenPrefixLength = 8;

    public static ulong Token(ReadOnlySpan<byte> key) => XxHash64.HashToUInt64(PartitionOf(key));

    /// <summary>The bytes that decide placement: the hash tag if the key has one, else the whole key.</summary>
    public static ReadOnlySpan<byte> PartitionOf(ReadOnlySpan<byte> key)
    {
        var open = key.IndexOf((byte)'{');
        if (open < 0) return key;
        var close = key[(open + 1)..].IndexOf((byte)'}');
        if (close <= 0) return key; // no closing brace, or "{}": the whole key
        return key.Slice(open + 1, close);
    }

    /// <summary>Writes <c>token | key</c> into <paramref name="destination"/>; returns bytes written.</summary>
    public static int WriteStorageKey(Span<byte> destination, ReadOnlySpan<byte> key)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, Token(key));
        key.CopyTo(destination[TokenPrefixLength..]);
        return TokenPrefixLength + key.Length;
    }

    public static ulong TokenOfStorageKey(ReadOnlySpan<byte> storageKey) => BinaryPrimitives.ReadUInt64BigEndian(storageKey);

    public static ReadOnlySpan<byte> UserKeyOfStorageKey(ReadOnlySpan<byte> storageKey) => storageKey[TokenPrefixLength..];
}
