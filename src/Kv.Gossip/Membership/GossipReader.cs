using System.Text;
using Kv.Gossip.Transport;

namespace Kv.Gossip.Membership;

/// <summary>Reads what <see cref="GossipWriter"/> writes; throws <see cref="GossipFormatException"/> on malformed input.</summary>
internal ref struct GossipReader(ReadOnlySpan<byte> data, GossipStringTable? strings = null)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private readonly GossipStringTable? _strings = strings;
    private int _position;

    public readonly bool End => _position == _data.Length;

    public byte ReadByte()
    {
        if (_position >= _data.Length) throw new GossipFormatException("Gossip message truncated.");
        return _data[_position++];
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = ReadByte();
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new GossipFormatException("Gossip varint longer than 10 bytes.");
    }

    public long ReadNonNegative()
    {
        var v = ReadVarint();
        if (v > long.MaxValue) throw new GossipFormatException("Gossip number out of range.");
        return (long)v;
    }

    public int ReadCount(int minimumBytesEach)
    {
        var v = ReadVarint();
        if (v > (ulong)((_data.Length - _position) / Math.Max(1, minimumBytesEach)) + 1)
            throw new GossipFormatException($"Gossip count {v} exceeds the message size.");
        return (int)v;
    }

    public string ReadString()
    {
        var length = ReadVarint();
        if (length > (ulong)(_data.Length - _position)) throw new GossipFormatException("Gossip string runs past the end of the message.");
        var bytes = _data.Slice(_position, (int)length);
        var s = _strings is null ? Encoding.UTF8.GetString(bytes) : _strings.Get(bytes);
        _position += (int)length;
        return s;
    }

    public NodeAddress ReadEndpoint() => ReadEndpoint(out _);

    /// <summary>Reads an endpoint and its <see cref="GossipStringTable.IdOf"/> (-1 without a table or when it is full).</summary>
    public NodeAddress ReadEndpoint(out int id)
    {
        id = -1;
        var start = _position;
        var length = ReadVarint();
        if (length > (ulong)(_data.Length - _position)) throw new GossipFormatException("Gossip host name runs past the end of the message.");
        var host = _data.Slice(_position, (int)length);
        _position += (int)length;
        var port = ReadVarint();
        if (port is 0 or > 65535) throw new GossipFormatException($"Gossip endpoint port {port} is invalid.");
        return _strings is null
            ? new NodeAddress(Encoding.UTF8.GetString(host), (int)port)
            : _strings.GetEndpoint(_data[start.._position], host, (int)port, out id);
    }
}
