using System.Text;

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
    private readonly Lock _lock = new();

    public GossipStringTable() => _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public int Count
    {
        get { lock (_lock) return _strings.Count; }
    }

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty) return string.Empty;
        if (utf8.Length > MaxLength) return Encoding.UTF8.GetString(utf8);
        Span<char> chars = utf8.Length <= 256 ? stackalloc char[utf8.Length] : new char[utf8.Length];
        var n = Encoding.UTF8.GetChars(utf8, chars);
        lock (_lock)
        {
            if (_lookup.TryGetValue(chars[..n], out var existing)) return existing;
            var s = new string(chars[..n]);
            if (_strings.Count < Capacity) _strings[s] = s;
            return s;
        }
    }
}
