using System.Buffers.Binary;

namespace Kv.Bench;

/// <summary>
/// Formats key number k as RocksDB's db_bench does (GenerateKeyFromInt without prefixes): the number as
/// min(key_size, 8) big-endian bytes, then '0' bytes up to key_size. Byte order equals numeric order.
/// </summary>
internal static class KeyFormatter
{
    public static void Format(long k, Span<byte> key)
    {
        var fill = Math.Min(key.Length, 8);
        Span<byte> be = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(be, (ulong)k);
        be[(8 - fill)..].CopyTo(key);
        key[fill..].Fill((byte)'0');
    }
}
