using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Kv.Engine.Format;

/// <summary>
/// CRC-32C (Castagnoli, polynomial 0x1EDC6F41), the checksum of every WAL record, SSTable block,
/// manifest record and internode frame. Uses the SSE4.2 / ARMv8 CRC instructions where present.
/// </summary>
/// <remarks>
/// Internal, and compiled into Kv.Protocol as well (linked source) for internode frames, so that
/// neither assembly depends on the other. Stored checksums are <see cref="Mask"/>ed (as LevelDB does) so that a CRC computed over bytes
/// that themselves contain a CRC does not degenerate.
/// </remarks>
internal static class Crc32C
{
    private const uint Poly = 0x82F63B78; // reflected 0x1EDC6F41
    private const uint MaskDelta = 0xA282EAD8; // wire format: changing this breaks existing data

    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data) => Extend(0, data);

    /// <summary>Continues a CRC over more bytes: Extend(Compute(a), b) == Compute(a ++ b).</summary>
    public static uint Extend(uint crc, ReadOnlySpan<byte> data)
    {
        var c = ~crc;
        if (Sse42.X64.IsSupported)
        {
            ulong c64 = c;
            while (data.Length >= 8)
            {
                c64 = Sse42.X64.Crc32(c64, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            c = (uint)c64;
            foreach (var b in data) c = Sse42.Crc32(c, b);
        }
        else if (Crc32.Arm64.IsSupported)
        {
            while (data.Length >= 8)
            {
                c = Crc32.Arm64.ComputeCrc32C(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }
            foreach (var b in data) c = Crc32.ComputeCrc32C(c, b);
        }
        else
        {
            foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        }
        return ~c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + MaskDelta;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Unmask(uint masked)
    {
        var rot = masked - MaskDelta;
        return (rot >> 17) | (rot << 15);
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ Poly : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
