using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Kv.Engine.Format;

namespace Kv.Protocol.Internode;

/// <summary>
/// The first bytes the connecting side sends on an internode connection: who it is (its listen
/// address, so the receiver names it by that and not by an ephemeral port) and which protocol it speaks.
/// <code>
/// hello := magic: "KVIN" (4 bytes)
///        | version: u8
///        | port: u16 LE            (the sender's listen port)
///        | host-length: u8 (1..255)
///        | host: UTF-8 bytes       (the sender's advertised listen host)
///        | crc32c: u32 LE, masked  (over every byte before it)
/// </code>
/// The receiver checks the magic as soon as 4 bytes are in, so a client of another protocol that
/// connects to the peer port is rejected at once. See docs/formats/internode.md.
/// </summary>
public readonly record struct InternodeHello(string Host, int Port)
{
    /// <summary>Wire format: changing this breaks peers.</summary>
    public static ReadOnlySpan<byte> Magic => "KVIN"u8;

    /// <summary>The framing version this build speaks. Wire format: bump it on any framing change.</summary>
    public const byte CurrentVersion = 1;

    private const int FixedSize = 4 + 1 + 2 + 1 + 4;

    public int EncodedSize => FixedSize + Encoding.UTF8.GetByteCount(Host);

    public int Write(Span<byte> destination) => Write(destination, CurrentVersion);

    /// <summary>Encodes the hello with an explicit version (tests use this to speak a future version).</summary>
    public int Write(Span<byte> destination, byte version)
    {
        var hostLength = Encoding.UTF8.GetByteCount(Host);
        if (hostLength is 0 or > 255) throw new ArgumentException($"host '{Host}' must be 1..255 UTF-8 bytes", nameof(Host));
        if (Port is < 0 or > 65535) throw new ArgumentException($"port {Port} is outside 0..65535", nameof(Port));
        var size = FixedSize + hostLength;
        if (destination.Length < size) throw new ArgumentException($"destination holds {destination.Length} bytes but the hello needs {size}", nameof(destination));
        Magic.CopyTo(destination);
        destination[4] = version;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[5..], (ushort)Port);
        destination[7] = (byte)hostLength;
        Encoding.UTF8.GetBytes(Host, destination.Slice(8, hostLength));
        var crc = Crc32C.Compute(destination[..(8 + hostLength)]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[(8 + hostLength)..], Crc32C.Mask(crc));
        return size;
    }

    public byte[] ToArray()
    {
        var bytes = new byte[EncodedSize];
        Write(bytes);
        return bytes;
    }

    /// <summary>
    /// Reads the hello from the front of <paramref name="buffer"/>. Returns false when more bytes are
    /// needed; on success <paramref name="buffer"/> is advanced past it.
    /// </summary>
    /// <exception cref="InternodeProtocolException">Wrong magic, a version this build does not speak, or a corrupt hello.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out InternodeHello hello)
    {
        hello = default;
        Span<byte> head = stackalloc byte[8];
        var available = (int)Math.Min(buffer.Length, head.Length);
        buffer.Slice(0, available).CopyTo(head);

        var magicBytes = Math.Min(available, 4);
        if (!head[..magicBytes].SequenceEqual(Magic[..magicBytes]))
            InternodeFrame.ThrowProtocol(InternodeProtocolError.WrongMagic,
                $"the peer did not start with the internode magic \"KVIN\" (got 0x{Convert.ToHexString(head[..magicBytes])}): it is not a KvStore node, or it connected to the wrong port");
        if (available < 5) return false;
        if (head[4] != CurrentVersion)
            InternodeFrame.ThrowProtocol(InternodeProtocolError.UnsupportedVersion,
                $"the peer speaks internode framing version {head[4]}, this node speaks version {CurrentVersion}: run the same KvStore version on every node");
        if (available < 8) return false;
        var hostLength = head[7];
        if (hostLength == 0) InternodeFrame.ThrowProtocol(InternodeProtocolError.MalformedHello, "hello with an empty host");
        var size = FixedSize + hostLength;
        if (buffer.Length < size) return false;

        var bytes = buffer.Slice(0, size);
        Span<byte> all = stackalloc byte[size];
        bytes.CopyTo(all);
        var crc = Crc32C.Compute(all[..(8 + hostLength)]);
        var stored = Crc32C.Unmask(BinaryPrimitives.ReadUInt32LittleEndian(all[(8 + hostLength)..]));
        if (crc != stored) InternodeFrame.ThrowProtocol(InternodeProtocolError.ChecksumMismatch, "hello checksum mismatch: the bytes were corrupted in transit");

        string host;
        try
        {
            host = new UTF8Encoding(false, true).GetString(all.Slice(8, hostLength));
        }
        catch (DecoderFallbackException)
        {
            InternodeFrame.ThrowProtocol(InternodeProtocolError.MalformedHello, "hello host is not valid UTF-8");
            return false;
        }
        hello = new InternodeHello(host, BinaryPrimitives.ReadUInt16LittleEndian(all[5..]));
        buffer = buffer.Slice(size);
        return true;
    }
}
