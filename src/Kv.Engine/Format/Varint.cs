using System.Runtime.CompilerServices;

namespace Kv.Engine.Format;

/// <summary>
/// LEB128 unsigned varints (7 bits a byte, low groups first, high bit = more follows), as in
/// LevelDB/protobuf. Used inside blocks, WAL batches and manifest records.
/// </summary>
public static class Varint
{
    public const int MaxLength32 = 5;
    public const int MaxLength64 = 10;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Length(ulong value)
    {
        var n = 1;
        while (value >= 0x80) { value >>= 7; n++; }
        return n;
    }

    /// <summary>Writes <paramref name="value"/> at the start of <paramref name="destination"/>; returns bytes written.</summary>
    public static int Write(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Reads a varint of at most 64 bits; returns bytes consumed, or 0 if the input is truncated or overlong.</summary>
    public static int TryRead(ReadOnlySpan<byte> source, out ulong value)
    {
        value = 0;
        var shift = 0;
        for (var i = 0; i < source.Length && i < MaxLength64; i++)
        {
            var b = source[i];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return i + 1;
            shift += 7;
        }
        value = 0;
        return 0;
    }

    /// <summary>Reads a varint that must fit in 32 bits; returns bytes consumed, or 0 if truncated, overlong or too large.</summary>
    public static int TryRead(ReadOnlySpan<byte> source, out uint value)
    {
        var n = TryRead(source, out ulong v);
        if (n == 0 || n > MaxLength32 || v > uint.MaxValue) { value = 0; return 0; }
        value = (uint)v;
        return n;
    }
}
