using System.Buffers.Binary;
using Kv.Engine.Format;

namespace Kv.Engine.Sstable;

/// <summary>
/// What follows every block's contents on disk.
/// <code>
/// // block on disk := contents: u8*size | compression: u8 (BlockCompression) | crc32c: u32 LE
/// //   crc32c = masked CRC-32C over contents ++ compression byte
/// //   compression = Lz4: contents := uncompressed_length: varint | LZ4 block
/// </code>
/// wire format: changing this breaks existing data.
/// </summary>
internal static class BlockTrailer
{
    public const int Size = 5; // wire format: changing this breaks existing data

    public static void Write(Span<byte> trailer, ReadOnlySpan<byte> contents, BlockCompression compression)
    {
        trailer[0] = (byte)compression;
        var crc = Crc32C.Extend(Crc32C.Compute(contents), trailer[..1]);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[1..], Crc32C.Mask(crc));
    }

    /// <summary>True if <paramref name="block"/> (contents ++ trailer) carries a matching checksum.</summary>
    public static bool Verify(ReadOnlySpan<byte> block)
    {
        var stored = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(block[^4..]));
        return stored == Crc32C.Compute(block[..^4]);
    }
}
