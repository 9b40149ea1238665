using System.Buffers.Binary;
using System.IO.Hashing;

namespace Kv.Node.Time;

/// <summary>
/// Keeps the HLC high-water mark in a small file of the data directory, replaced atomically
/// (write temp, fsync, rename) so a crash leaves either the old or the new bound.
/// </summary>
/// <remarks>
/// <code>
/// hlc file := magic "KVHLC001": 8 bytes | bound: i64 LE (unix ms) | crc32: u32 LE (System.IO.Hashing.Crc32 over magic + bound)
/// </code>
/// wire format: changing this makes existing data directories unreadable. See docs/formats/hlc.md.
/// Threading: called under the clock's reservation lock; not otherwise thread-safe.
/// </remarks>
public sealed class FileClockHighWaterMark(string directory) : IClockHighWaterMark
{
    public const string FileName = "hlc";
    private static ReadOnlySpan<byte> Magic => "KVHLC001"u8;

    private string PathOf => Path.Combine(directory, FileName);

    public long Load()
    {
        if (!File.Exists(PathOf)) return 0;
        var bytes = File.ReadAllBytes(PathOf);
        if (bytes.Length != 20 || !bytes.AsSpan(0, 8).SequenceEqual(Magic)
            || Crc32.HashToUInt32(bytes.AsSpan(0, 16)) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(16)))
        {
            throw new InvalidDataException($"the clock file {PathOf} is corrupt (bad magic, length or checksum); "
                + "if the node was not running, delete it and make sure the wall clock is correct before restarting");
        }
        return BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8));
    }

    public void Store(long unixMs)
    {
        Span<byte> bytes = stackalloc byte[20];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[8..], unixMs);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[16..], Crc32.HashToUInt32(bytes[..16]));
        var temp = PathOf + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, PathOf, overwrite: true);
    }
}
