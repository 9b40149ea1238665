using System.Text;
using Kv.Engine.Format;

namespace Kv.Engine.Tests.Db;

/// <summary>
/// The reference the engine is checked against: per key, only the winning version by the engine's rule
/// (<see cref="InternalKey.Supersedes"/>), kept in a SortedDictionary with bytewise key order.
/// </summary>
internal sealed class StoreModel
{
    private readonly SortedDictionary<byte[], Version> _versions = new(ByteComparer.Instance);

    private sealed record Version(long Ts, EntryKind Kind, byte[] Value, long Expires);

    public void Apply(byte[] key, long ts, EntryKind kind, byte[] value, long expires)
    {
        var encoded = Encode(kind, value, expires);
        if (_versions.TryGetValue(key, out var current) &&
            !InternalKey.Supersedes(ts, kind, encoded, current.Ts, current.Kind, Encode(current.Kind, current.Value, current.Expires)))
            return;
        _versions[key] = new Version(ts, kind, value, kind == EntryKind.Value ? expires : 0);
    }

    /// <summary>Ties of identical (timestamp, kind) compare the encoded entry value, as the engine stores it.</summary>
    private static byte[] Encode(EntryKind kind, byte[] value, long expires)
    {
        if (kind == EntryKind.Tombstone) return [];
        var e = new byte[EntryValue.EncodedLength(expires, value.Length)];
        EntryValue.Write(e, expires, value);
        return e;
    }

    public ReadResult Read(byte[] key, long nowUnixMs)
    {
        if (!_versions.TryGetValue(key, out var v)) return ReadResult.Absent;
        if (v.Kind == EntryKind.Tombstone) return new ReadResult(ReadStatus.Deleted, v.Ts, 0, null);
        if (EntryValue.IsExpired(v.Expires, nowUnixMs)) return ReadResult.Absent;
        return new ReadResult(ReadStatus.Found, v.Ts, v.Expires, v.Value);
    }

    public List<string> Scan(byte[] start, byte[] end, bool includeTombstones, long nowUnixMs)
    {
        var result = new List<string>();
        foreach (var (key, v) in _versions)
        {
            if (key.AsSpan().SequenceCompareTo(start) < 0) continue;
            if (end.Length > 0 && key.AsSpan().SequenceCompareTo(end) >= 0) break;
            var hidden = v.Kind == EntryKind.Tombstone || EntryValue.IsExpired(v.Expires, nowUnixMs);
            if (hidden && !includeTombstones) continue;
            result.Add($"{Convert.ToHexString(key)}@{v.Ts}:{(v.Kind == EntryKind.Tombstone ? "del" : Encoding.UTF8.GetString(v.Value))}/{v.Expires}");
        }
        return result;
    }

    private sealed class ByteComparer : IComparer<byte[]>
    {
        public static readonly ByteComparer Instance = new();

        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }
}
