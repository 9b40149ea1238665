using System.Buffers.Binary;
using Kv.Engine.Format;

namespace Kv.Engine.Sstable;

/// <summary>
/// The fixed-size tail of every table: where the metadata blocks are, and proof that this is a table
/// of a version we understand.
/// <code>
/// // footer (76 bytes, at end of file) :=
/// //     filter: block handle | properties: block handle | index: block handle | zero padding to 60 bytes
/// //   | handles_crc: u32 LE (masked crc32c of the 60 handle bytes)
/// //   | format_version: u32 LE (= 1) | magic: u64 LE (= 0x6B7673737461626C, "kvsstabl")
/// </code>
/// wire format: changing this breaks existing data.
/// </summary>
public readonly record struct Footer(BlockHandle Filter, BlockHandle Properties, BlockHandle Index)
{
    public const int HandlesLength = 3 * BlockHandle.MaxEncodedLength;
    public const int Length = HandlesLength + 4 + 4 + 8;
    public const uint FormatVersion = 1;          // wire format: bump on any layout change, keep a reader for the old one
    public const ulong Magic = 0x6B7673737461626CUL; // wire format: changing this breaks existing data

    public void EncodeTo(Span<byte> destination)
    {
        var footer = destination[..Length];
        footer.Clear();
        var n = Filter.EncodeTo(footer);
        n += Properties.EncodeTo(footer[n..]);
        Index.EncodeTo(footer[n..]);
        BinaryPrimitives.WriteUInt32LittleEndian(footer[HandlesLength..], Crc32C.Mask(Crc32C.Compute(footer[..HandlesLength])));
        BinaryPrimitives.WriteUInt32LittleEndian(footer[(HandlesLength + 4)..], FormatVersion);
        BinaryPrimitives.WriteUInt64LittleEndian(footer[(HandlesLength + 8)..], Magic);
    }

    /// <summary>Decodes the footer read from offset <paramref name="offset"/> of <paramref name="path"/>; throws
    /// <see cref="CorruptionException"/> if it is not a footer of this format.</summary>
    public static Footer Decode(ReadOnlySpan<byte> footer, string path, long offset)
    {
        if (footer.Length != Length) throw new CorruptionException(path, offset, $"table footer is {footer.Length} bytes, expected {Length} (file truncated or not a table)");
        var magic = BinaryPrimitives.ReadUInt64LittleEndian(footer[(HandlesLength + 8)..]);
        if (magic != Magic) throw new CorruptionException(path, offset + HandlesLength + 8, $"bad table magic 0x{magic:X16} (file truncated, overwritten or not a table)");
        var version = BinaryPrimitives.ReadUInt32LittleEndian(footer[(HandlesLength + 4)..]);
        if (version != FormatVersion) throw new CorruptionException(path, offset + HandlesLength + 4, $"unsupported table format version {version} (this build reads version {FormatVersion})");
        var crc = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(footer[HandlesLength..]));
        if (crc != Crc32C.Compute(footer[..HandlesLength])) throw new CorruptionException(path, offset, "table footer checksum mismatch");

        var n = BlockHandle.TryDecode(footer, out var filter);
        var m = BlockHandle.TryDecode(footer[n..], out var properties);
        var k = BlockHandle.TryDecode(footer[(n + m)..], out var index);
        if (n == 0 || m == 0 || k == 0) throw new CorruptionException(path, offset, "malformed block handle in table footer");
        return new Footer(filter, properties, index);
    }
}
