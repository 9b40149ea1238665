using System.Buffers;
using System.Buffers.Binary;
using MessagePack;
using MessagePack.Resolvers;

namespace Kv.Protocol.Internode;

/// <summary>
/// The payload of every transport message on the internode channel:
/// <code>
/// envelope := version: u8 | verb: u8 | flags: u8 | request-id: u64 LE | body: MessagePack
/// flags    := bit 0 response | bit 1 error (body is an ErrorResponse) | bit 2 one-way
/// </code>
/// The 11-byte header has the same layout in every version, so a node can always read the request id
/// of a message it does not understand and answer it with an error instead of leaving the sender to
/// time out. See docs/formats/internode.md.
/// </summary>
public static class InternodeEnvelope
{
    /// <summary>Wire format: changing this breaks peers.</summary>
    public const int HeaderSize = 11;

    /// <summary>The envelope version this build writes and understands.</summary>
    public const byte CurrentVersion = 1;

    /// <summary>
    /// MessagePack settings for every body: the standard attribute-driven contracts, with the limits for
    /// untrusted input (bodies arrive from the network; a hostile depth must not blow the stack).
    /// </summary>
    public static MessagePackSerializerOptions SerializerOptions { get; } =
        MessagePackSerializerOptions.Standard
            .WithResolver(StandardResolver.Instance)
            .WithSecurity(MessagePackSecurity.UntrustedData);

    public static void WriteHeader(Span<byte> destination, in InternodeHeader header)
    {
        if (destination.Length < HeaderSize) throw new ArgumentException($"destination holds {destination.Length} bytes, the header needs {HeaderSize}", nameof(destination));
        destination[0] = header.Version;
        destination[1] = (byte)header.Verb;
        destination[2] = (byte)header.Flags;
        BinaryPrimitives.WriteUInt64LittleEndian(destination[3..], header.RequestId);
    }

    /// <summary>Writes the header and the MessagePack body into <paramref name="writer"/>.</summary>
    public static void Write<TBody>(IBufferWriter<byte> writer, in InternodeHeader header, TBody body)
    {
        WriteHeader(writer.GetSpan(HeaderSize), header);
        writer.Advance(HeaderSize);
        MessagePackSerializer.Serialize(writer, body, SerializerOptions);
    }

    /// <summary>Reads the fixed header; false when <paramref name="message"/> is shorter than a header.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> message, out InternodeHeader header)
    {
        if (message.Length < HeaderSize)
        {
            header = default;
            return false;
        }
        header = new InternodeHeader(message[0], (InternodeVerb)message[1], (InternodeFlags)message[2],
            BinaryPrimitives.ReadUInt64LittleEndian(message[3..]));
        return true;
    }

    /// <summary>Decodes a body (the bytes after the header).</summary>
    /// <exception cref="MessagePackSerializationException">The body does not match <typeparamref name="TBody"/>'s contract.</exception>
    public static TBody ReadBody<TBody>(ReadOnlyMemory<byte> body) =>
        MessagePackSerializer.Deserialize<TBody>(body, SerializerOptions);
}
