using System.Buffers;
using System.Buffers.Binary;
using Kv.Engine.Format;

namespace Kv.Protocol.Internode;

/// <summary>
/// The unit of every internode TCP connection after the <see cref="InternodeHello"/>:
/// <code>
/// frame := length: u32 LE (of channel + payload, at least 1)
///        | crc32c: u32 LE, masked (over channel + payload)
///        | channel: u8
///        | payload: length - 1 bytes
/// </code>
/// A frame is never delivered unless its checksum matches; a length above the configured maximum
/// is rejected before any of its payload is buffered. See docs/formats/internode.md.
/// </summary>
public static class InternodeFrame
{
    /// <summary>Bytes before the payload: length, crc and channel. Wire format: changing this breaks peers.</summary>
    public const int HeaderSize = 9;

    /// <summary>Default bound on <c>length</c> (channel + payload): 16 MiB.</summary>
    public const int DefaultMaxFrameLength = 16 * 1024 * 1024;

    /// <summary>Bytes a frame carrying <paramref name="payloadLength"/> bytes of payload takes on the wire.</summary>
    public static int EncodedSize(int payloadLength) => HeaderSize + payloadLength;

    /// <summary>Encodes one frame into <paramref name="destination"/>, which must hold <see cref="EncodedSize"/> bytes.</summary>
    public static int Write(Span<byte> destination, byte channel, ReadOnlySpan<byte> payload)
    {
        var size = EncodedSize(payload.Length);
        if (destination.Length < size) ThrowDestinationTooSmall(size, destination.Length);
        destination[8] = channel;
        payload.CopyTo(destination[HeaderSize..]);
        var crc = Crc32C.Compute(destination.Slice(8, 1 + payload.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)(payload.Length + 1));
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Crc32C.Mask(crc));
        return size;
    }

    /// <summary>Encodes one frame into <paramref name="writer"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, byte channel, ReadOnlySpan<byte> payload)
    {
        var size = EncodedSize(payload.Length);
        Write(writer.GetSpan(size), channel, payload);
        writer.Advance(size);
    }

    /// <summary>
    /// Reads one whole frame from the front of <paramref name="buffer"/>. Returns false when more bytes
    /// are needed (not an error); on success <paramref name="buffer"/> is advanced past the frame and
    /// <paramref name="payload"/> is a slice of the original buffer.
    /// </summary>
    /// <exception cref="InternodeProtocolException">The length is 0 or above <paramref name="maxFrameLength"/>, or the checksum does not match.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxFrameLength, out byte channel, out ReadOnlySequence<byte> payload)
    {
        channel = 0;
        payload = default;
        if (buffer.Length < HeaderSize) return false;

        Span<byte> header = stackalloc byte[HeaderSize];
        if (buffer.FirstSpan.Length >= HeaderSize) buffer.FirstSpan[..HeaderSize].CopyTo(header);
        else buffer.Slice(0, HeaderSize).CopyTo(header);

        var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (length == 0) ThrowProtocol(InternodeProtocolError.EmptyFrame, "frame length 0 (a frame carries at least its channel byte)");
        if (length > (uint)maxFrameLength) ThrowFrameTooLarge(length, maxFrameLength);
        if (buffer.Length < 8 + (long)length) return false;

        var body = buffer.Slice(8, length); // channel + payload
        uint crc = 0;
        foreach (var segment in body) crc = Crc32C.Extend(crc, segment.Span);
        var expected = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(header[4..]));
        if (crc != expected) ThrowChecksum(expected, crc, length);

        channel = header[8];
        payload = body.Slice(1);
        buffer = buffer.Slice(body.End);
        return true;
    }

    /// <summary>
    /// The bytes the frame at the front of <paramref name="buffer"/> takes in all, header included, once its length
    /// field has arrived and is within <paramref name="maxFrameLength"/>; 0 when that is not known yet (or the length
    /// is one <see cref="TryRead"/> refuses). A receive buffer grows to this instead of doubling past it.
    /// </summary>
    public static long BytesNeeded(in ReadOnlySequence<byte> buffer, int maxFrameLength)
    {
        if (buffer.Length < sizeof(uint)) return 0;
        Span<byte> prefix = stackalloc byte[sizeof(uint)];
        buffer.Slice(0, sizeof(uint)).CopyTo(prefix);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(prefix);
        return length == 0 || length > (uint)maxFrameLength ? 0 : 8 + (long)length;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowDestinationTooSmall(int needed, int actual) =>
        throw new ArgumentException($"destination holds {actual} bytes but the frame needs {needed}", "destination");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowFrameTooLarge(uint length, int max) =>
        throw new InternodeProtocolException(InternodeProtocolError.FrameTooLarge,
            $"frame of {length} bytes exceeds the maximum of {max} bytes (raise the internode max frame size on every node if such messages are legitimate)");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowChecksum(uint expected, uint actual, uint length) =>
        throw new InternodeProtocolException(InternodeProtocolError.ChecksumMismatch,
            $"frame checksum mismatch (stored 0x{expected:x8}, computed 0x{actual:x8}, length {length}): the bytes were corrupted in transit");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    internal static void ThrowProtocol(InternodeProtocolError error, string message) =>
        throw new InternodeProtocolException(error, message);
}
