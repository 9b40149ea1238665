using System.Buffers;
using System.IO.Hashing;
using System.Text;
using Kv.Gossip.Transport;

namespace Kv.Gossip.Membership;

/// <summary>
/// Interns the strings read from gossip (host names, application state values), so that decoding the digest
/// of a known endpoint allocates nothing (every SYN names every endpoint) and a value learned many times is
/// kept once. Nodes of one process (the simulator runs a thousand) may share one table through
/// <see cref="GossipOptions.Strings"/>. Bounded: past <see cref="Capacity"/> strings, new ones are not kept;
/// strings longer than <see cref="MaxLength"/> bytes are never kept.
/// </summary>
/// <remarks>Threading: thread-safe; one lock guards the table (held for one lookup).</remarks>
public sealed class GossipStringTable
{
    public const int Capacity = 200_000;
    public const int MaxLength = 4096;

    private readonly Dictionary<string, string> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Dictionary<ulong, (byte[] Encoded, NodeAddress Address, int Id)> _endpoints = [];
    private readonly Dictionary<NodeAddress, (int Id, byte[] Encoded)> _ids = [];
    private readonly Lock _lock = new();

    public GossipStringTable() => _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public int Count
    {
        get { lock (_lock) return _strings.Count; }
    }

    /// <summary>
    /// The endpoint whose encoding (<c>host: string | port: varint</c>) is <paramref name="encoded"/>, without
    /// decoding it again when it was seen before (keyed by a 64-bit hash of the bytes, confirmed byte for byte).
    /// </summary>
    public NodeAddress GetEndpoint(ReadOnlySpan<byte> encoded, ReadOnlySpan<byte> host, int port) => GetEndpoint(encoded, host, port, out _);

    /// <summary>As <see cref="GetEndpoint(ReadOnlySpan{byte}, ReadOnlySpan{byte}, int)"/>, also giving the endpoint's <see cref="IdOf"/>.</summary>
    internal NodeAddress GetEndpoint(ReadOnlySpan<byte> encoded, ReadOnlySpan<byte> host, int port, out int id)
    {
        var hash = XxHash3.HashToUInt64(encoded);
        lock (_lock)
        {
            if (_endpoints.TryGetValue(hash, out var known) && encoded.SequenceEqual(known.Encoded))
            {
                id = known.Id;
                return known.Address;
            }
        }
        var address = new NodeAddress(Get(host), port);
        id = IdOf(address, out _);
        lock (_lock)
        {
            if (_endpoints.Count < Capacity) _endpoints.TryAdd(hash, (encoded.ToArray(), address, id));
        }
        return address;
    }

    /// <summary>
    /// A small dense number for <paramref name="address"/>, the same for every caller and forever (so gossipers can
    /// index their endpoint states by it instead of hashing the address per digest), and the address's gossip
    /// encoding, shared; -1 (and null) once <see cref="Capacity"/> addresses have numbers.
    /// </summary>
    internal int IdOf(NodeAddress address, out byte[]? encoded)
    {
        lock (_lock)
        {
            if (_ids.TryGetValue(address, out var known))
            {
                encoded = known.Encoded;
                return known.Id;
            }
            if (_ids.Count >= Capacity)
            {
                encoded = null;
                return -1;
            }
            var id = _ids.Count;
            encoded = GossipWriter.EncodeEndpoint(address);
            _ids.Add(address, (id, encoded));
            return id;
        }
    }

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty) return string.Empty;
        if (utf8.Length > MaxLength) return Encoding.UTF8.GetString(utf8);
        char[]? rented = null;
        Span<char> chars = utf8.Length <= 256 ? stackalloc char[utf8.Length] : (rented = ArrayPool<char>.Shared.Rent(utf8.Length));
        try
        {
            var n = Encoding.UTF8.GetChars(utf8, chars);
            lock (_lock)
            {
                if (_lookup.TryGetValue(chars[..n], out var existing)) return existing;
                var s = new string(chars[..n]);
                if (_strings.Count < Capacity) _strings[s] = s;
                return s;
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        }
    }
}
