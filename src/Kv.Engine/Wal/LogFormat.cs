using System.Buffers.Binary;
using Kv.Engine.Format;

namespace Kv.Engine.Wal;

/// <summary>
/// The record framing shared by the WAL and the manifest (LevelDB's log format; docs/formats/wal.md).
/// <code>
/// // file     := block* zero*               zeros after the last fragment: O_DIRECT sector padding left by a crash
/// // block    := fragment* trailer?         32768 bytes; the last block of a file may be short
/// // fragment := crc: u32 LE | length: u16 LE | type: u8 | payload: length bytes
/// //   crc    =  Crc32C.Mask(crc32c(type | payload))
/// //   type   := 1 FULL | 2 FIRST | 3 MIDDLE | 4 LAST
/// // trailer  := 0x00{1..6}                 when fewer than 7 bytes are left in a block they are zero and the
/// //                                        next fragment starts at the next block
/// // record   := FULL | FIRST MIDDLE* LAST  a record's payload is its fragments' payloads in order; may be empty
/// </code>
/// Every block starts at a fragment header, so a reader can resynchronize at the next block after damage.
/// wire format: changing any constant here breaks existing data.
/// </summary>
internal static class LogFormat
{
    public const int BlockSize = 32 * 1024;
    public const int HeaderSize = 7;

    public const byte Zero = 0; // never written as a type: zero bytes mean padding or preallocated space
    public const byte Full = 1;
    public const byte First = 2;
    public const byte Middle = 3;
    public const byte Last = 4;
    public const byte MaxType = Last;

    /// <summary>Bytes that <see cref="Encode"/> writes for a payload of <paramref name="payloadLength"/> bytes
    /// when the file currently ends at <paramref name="position"/>.</summary>
    public static long EncodedLength(long position, long payloadLength)
    {
        var start = position;
        var remaining = payloadLength;
        var first = true;
        while (first || remaining > 0)
        {
            var leftover = BlockSize - (int)(position % BlockSize);
            if (leftover < HeaderSize)
            {
                position += leftover;
                leftover = BlockSize;
            }
            var fragment = Math.Min(remaining, leftover - HeaderSize);
            position += HeaderSize + fragment;
            remaining -= fragment;
            first = false;
        }
        return position - start;
    }

    /// <summary>Frames <paramref name="payload"/> as one record for a file that currently ends at
    /// <paramref name="position"/>; <paramref name="destination"/> must hold <see cref="EncodedLength"/> bytes.
    /// Returns bytes written.</summary>
    public static int Encode(long position, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        var written = 0;
        var first = true;
        while (first || !payload.IsEmpty)
        {
            var leftover = BlockSize - (int)(position % BlockSize);
            if (leftover < HeaderSize)
            {
                destination.Slice(written, leftover).Clear();
                written += leftover;
                position += leftover;
                leftover = BlockSize;
            }
            var length = Math.Min(payload.Length, leftover - HeaderSize);
            var last = length == payload.Length;
            var type = first ? (last ? Full : First) : (last ? Last : Middle);
            var header = destination.Slice(written, HeaderSize);
            var body = payload[..length];
            var crc = Crc32C.Extend(Crc32C.Compute(new ReadOnlySpan<byte>(in type)), body);
            BinaryPrimitives.WriteUInt32LittleEndian(header, Crc32C.Mask(crc));
            BinaryPrimitives.WriteUInt16LittleEndian(header[4..], (ushort)length);
            header[6] = type;
            body.CopyTo(destination[(written + HeaderSize)..]);
            written += HeaderSize + length;
            position += HeaderSize + length;
            payload = payload[length..];
            first = false;
        }
        return written;
    }

    /// <summary>True if <paramref name="fragment"/> starts with a well-formed fragment (known type, payload inside
    /// the span, checksum right). <paramref name="fragment"/> must end no later than its block does.</summary>
    public static bool IsValidFragment(ReadOnlySpan<byte> fragment)
    {
        if (fragment.Length < HeaderSize) return false;
        var type = fragment[6];
        if (type is Zero or > MaxType) return false;
        int length = BinaryPrimitives.ReadUInt16LittleEndian(fragment[4..]);
        if (HeaderSize + length > fragment.Length) return false;
        return ChecksumMatches(fragment[..(HeaderSize + length)]);
    }

    /// <summary>Checks the CRC of a whole fragment (header and payload).</summary>
    public static bool ChecksumMatches(ReadOnlySpan<byte> fragment)
    {
        var stored = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(fragment));
        return Crc32C.Extend(Crc32C.Compute(fragment.Slice(6, 1)), fragment[HeaderSize..]) == stored;
    }
}
