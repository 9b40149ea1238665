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
    private readonly Dictionary<ulong, EndpointEntry> _endpoints = []; // by XxHash3 of the encoding
    private readonly Dictionary<NodeAddress, EndpointEntry> _byAddress = [];
    private int _nextId;
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

    /// <summary>
    /// As <see cref="GetEndpoint(ReadOnlySpan{byte}, ReadOnlySpan{byte}, int)"/>, also giving the endpoint's
    /// <see cref="IdOf"/> if it has one (-1: no gossiper sharing this table ever stored the endpoint).
    /// </summary>
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
        lock (_lock)
        {
            if (!_byAddress.TryGetValue(address, out var entry))
            {
                if (_byAddress.Count >= Capacity)
                {
                    id = -1;
                    return address;
                }
                entry = new EndpointEntry(address, GossipWriter.EncodeEndpoint(address));
                _byAddress.Add(address, entry);
            }
            // Only the usual encoding is remembered, so an entry always holds the bytes a writer would produce.
            if (_endpoints.Count < Capacity && encoded.SequenceEqual(entry.Encoded)) _endpoints.TryAdd(hash, entry);
            id = entry.Id;
            return address;
        }
    }

    /// <summary>
    /// A small dense number for <paramref name="address"/>, the same for every gossiper of this table and forever,
    /// given when a gossiper stores the endpoint's state (so gossipers index their endpoint states by it instead of
    /// hashing the address per digest); and the address's gossip encoding, shared. Not bounded by
    /// <see cref="Capacity"/>: only members get numbers.
    /// </summary>
    internal int IdOf(NodeAddress address, out byte[] encoded)
    {
        lock (_lock)
        {
            if (!_byAddress.TryGetValue(address, out var entry))
            {
                entry = new EndpointEntry(address, GossipWriter.EncodeEndpoint(address));
                _byAddress.Add(address, entry);
            }
            if (entry.Id < 0) entry.Id = _nextId++;
            encoded = entry.Encoded;
            return entry.Id;
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

    private sealed class EndpointEntry(NodeAddress address, byte[] encoded)
    {
        public NodeAddress Address { get; } = address;

        public byte[] Encoded { get; } = encoded;

        public int Id { get; set; } = -1; // under _lock
    }
}
