using Kv.Engine.Format;

namespace Kv.Engine.Sstable;

/// <summary>Where a block lives in a table file.
/// <code>
/// // block handle := offset: varint u64 | size: varint u64   (size of the contents, without the 5-byte trailer)
/// </code>
/// wire format: changing this breaks existing data.</summary>
public readonly record struct BlockHandle(long Offset, int Size)
{
    public const int MaxEncodedLength = 2 * Varint.MaxLength64;

    public int EncodeTo(Span<byte> destination)
    {
        var n = Varint.Write(destination, (ulong)Offset);
        return n + Varint.Write(destination[n..], (ulong)Size);
    }

    /// <summary>Decodes a handle; returns bytes consumed, or 0 if malformed.</summary>
    public static int TryDecode(ReadOnlySpan<byte> source, out BlockHandle handle)
    {
        handle = default;
        var n = Varint.TryRead(source, out ulong offset);
        if (n == 0 || offset > long.MaxValue) return 0;
        var m = Varint.TryRead(source[n..], out ulong size);
        if (m == 0 || size > int.MaxValue) return 0;
        handle = new BlockHandle((long)offset, (int)size);
        return n + m;
    }
}
