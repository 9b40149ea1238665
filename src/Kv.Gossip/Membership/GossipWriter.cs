using System.Text;
using Kv.Gossip.Transport;

namespace Kv.Gossip.Membership;

/// <summary>
/// Appends gossip primitives to a reusable buffer:
/// <code>
/// varint   := unsigned LEB128: 7 bits per byte, least significant group first, high bit = more (at most 10 bytes)
/// string   := length: varint | UTF-8 bytes
/// endpoint := host: string | port: varint
/// </code>
/// Not thread-safe; the gossiper uses one under its lock.
/// </summary>
internal sealed class GossipWriter
{
    private byte[] _buffer = new byte[1024];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    public void Reset() => Length = 0;

    public void WriteByte(byte value)
    {
        Ensure(1);
        _buffer[Length++] = value;
    }

    public void WriteVarint(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            _buffer[Length++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[Length++] = (byte)value;
    }

    public void WriteVarint(long value)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(nameof(value), value, "Gossip numbers are never negative.");
        WriteVarint((ulong)value);
    }

    public void WriteString(string value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        Ensure(max + 5);
        var lengthAt = Length;
        // Reserve the longest varint for the length only when needed: most strings are short.
        var byteCount = max < 128 ? Encoding.UTF8.GetBytes(value, _buffer.AsSpan(lengthAt + 1)) : -1;
        if (byteCount >= 0 && byteCount < 128)
        {
            _buffer[lengthAt] = (byte)byteCount;
            Length = lengthAt + 1 + byteCount;
            return;
        }
        byteCount = Encoding.UTF8.GetByteCount(value);
        WriteVarint((ulong)byteCount);
        Ensure(byteCount);
        Length += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(Length));
    }

    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(Length));
        Length += bytes.Length;
    }

    /// <summary>The endpoint of <paramref name="state"/>, from the encoding cached on it (made on first use).</summary>
    public void WriteEndpoint(NodeAddress endpoint, EndpointState state)
    {
        if (state.EncodedEndpoint is null)
        {
            var start = Length;
            WriteEndpoint(endpoint);
            state.EncodedEndpoint = _buffer.AsSpan(start, Length - start).ToArray();
            return;
        }
        WriteRaw(state.EncodedEndpoint);
    }

    /// <summary>The encoding of <paramref name="endpoint"/> as a new array.</summary>
    public static byte[] EncodeEndpoint(NodeAddress endpoint)
    {
        var w = new GossipWriter();
        w.WriteEndpoint(endpoint);
        return w.Written.ToArray();
    }

    public void WriteEndpoint(NodeAddress endpoint)
    {
        WriteString(endpoint.Host);
        WriteVarint((ulong)endpoint.Port);
    }

    private void Ensure(int extra)
    {
        if (Length + extra <= _buffer.Length) return;
        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + extra));
    }
}
